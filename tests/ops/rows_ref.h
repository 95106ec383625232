// Reference helpers for the row-wise op tests (reduce, softmax, norms): a tensor's values in logical order, and
// the (outer, len, inner) split of its shape around one dim, so that naive double loops can walk any row.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::test {

// Element (o, r, i) of the logical row-major order sits at (o * len + r) * inner + i.
struct RowSplit {
  int64_t outer = 1, len = 1, inner = 1;
  RowSplit(const Shape& shape, int dim) {
    for (int d = 0; d < int(shape.size()); ++d) (d < dim ? outer : d == dim ? len : inner) *= shape[d];
  }
  int64_t at(int64_t o, int64_t r, int64_t i) const { return (o * len + r) * inner + i; }
};

// x's values (any device, dtype, strides) in logical row-major order, widened to double.
inline std::vector<double> values(const Tensor& x) {
  std::vector<float> f = x.to_f32();
  return std::vector<double>(f.begin(), f.end());
}

// v rounded to dtype (what storing it in a tensor of that dtype keeps).
inline double round_to(DType dtype, double v) {
  if (dtype == DType::f16) return f16_to_f32(f32_to_f16(float(v)));
  if (dtype == DType::bf16) return bf16_to_f32(f32_to_bf16(float(v)));
  return v;
}

// Non-contiguous views used by the tests besides rand_strided (transposed last two dims, padded rows): a
// stepped slice of the last dim.
inline Tensor stepped(const Tensor& x) {
  Shape big = x.shape();
  big.back() = big.back() * 2 + 1;
  Tensor base = Tensor::empty(big, x.dtype(), x.device());
  Tensor view = base.slice(-1, 1, big.back(), 2);
  view.copy_from(x);
  return view;
}

}  // namespace glint::test
