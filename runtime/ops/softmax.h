// Softmax and log-softmax along one dimension, numerically stable (the row maximum is subtracted first) and
// accumulated in f32 for every floating dtype.
#pragma once
#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// exp(x - max) / sum(exp(x - max)) along `dim` (negative counts from the end); same shape and dtype as x.
Tensor softmax(const Tensor& x, int dim = -1);
// x - max - log(sum(exp(x - max))) along `dim`: log(softmax(x)) without its underflow.
Tensor log_softmax(const Tensor& x, int dim = -1);

// out (contiguous, x's shape and dtype) = softmax, or log_softmax when `log`, of x (any strides, floating dtype)
// along dim `dim` (already normalised, size > 0).
inline OpTable<void(const Tensor& x, int dim, bool log, const Tensor& out)> softmax_kernel("softmax");

}  // namespace glint
