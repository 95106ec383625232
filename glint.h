// glint's public API in one include: tensors, devices, dtypes and the ops.
#pragma once
#include "runtime/core/device.h"
#include "runtime/core/dtype.h"
#include "runtime/core/error.h"
#include "runtime/core/tensor.h"
