// Reductions along one dimension (sum, mean, max, min, argmax, var) and over a whole tensor (sum_all).
// Floating inputs accumulate in f32 and return their own dtype; integer sums return i64; argmax returns i64.
#pragma once
#include <cstdint>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// Sum over `dim` (negative counts from the end); integer inputs give i64. An empty dim sums to 0.
Tensor sum(const Tensor& x, int dim, bool keepdim = false);
// Mean over `dim` (floating dtypes only); an empty dim gives NaN.
Tensor mean(const Tensor& x, int dim, bool keepdim = false);
// Largest value over `dim` (NaN wins, as in torch).
Tensor max(const Tensor& x, int dim, bool keepdim = false);
// Smallest value over `dim` (NaN wins, as in torch).
Tensor min(const Tensor& x, int dim, bool keepdim = false);
// i64 index of the first largest value over `dim` (the first NaN if there is one, as in torch).
Tensor argmax(const Tensor& x, int dim, bool keepdim = false);
// Variance over `dim`: sum of squared deviations / max(0, n - correction) (floating dtypes; 0/0 gives NaN).
Tensor var(const Tensor& x, int dim, int64_t correction = 1, bool keepdim = false);
// Sum of every element as a 0-d tensor (integer inputs give i64).
Tensor sum_all(const Tensor& x);

// The op code is a Vulkan specialization constant: keep the numbering stable.
enum class ReduceOp : uint32_t { sum = 0, mean = 1, max = 2, min = 3, argmax = 4, var = 5 };
// The op's name as its errors spell it ("sum", "argmax", ...).
const char* reduce_op_name(ReduceOp op);

// out (contiguous, x's shape without `dim`) = op over dim `dim` (already normalised) of x (any strides).
// out has x's dtype (sum of integers: i64; argmax: i64). max/min/argmax never see an empty dim.
// `correction` is used by var only.
inline OpTable<void(const Tensor& x, int dim, ReduceOp op, int64_t correction, const Tensor& out)> reduce_kernel(
    "reduce");
// out (0-d, x's dtype or i64 for integers) = sum of every element of x (any strides, possibly empty).
inline OpTable<void(const Tensor& x, const Tensor& out)> sum_all_kernel("sum_all");

}  // namespace glint
