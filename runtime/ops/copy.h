// Copy and fill kernels behind Tensor::contiguous / clone / to(dtype) / copy_from and zeros / full.
#pragma once
#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// dst (any strides, same shape and device as src) = src converted to dst's dtype.
inline OpTable<void(const Tensor& src, const Tensor& dst)> copy_kernel("copy");
// Every element of the contiguous tensor dst = value (converted to dst's dtype).
inline OpTable<void(const Tensor& dst, double value)> fill_kernel("fill");

}  // namespace glint
