// The exact reference of an op whose every output element is a sum of products (matmul, conv2d and their gradients),
// and the per-element error bound a backend's result must meet: inputs are exact in their dtype and every backend
// accumulates in f32, so an element summing n terms is within (n + 1) * 2^-24 * (sum of the terms' magnitudes) of
// the exact value in any summation order; rounding to the output dtype adds its unit roundoff times the value.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::test {

// Exact values of a result (in double) and, per element, the magnitude of its terms and how many there are.
struct ExactSums {
  Shape shape;
  std::vector<double> value, magnitude;
  std::vector<int64_t> terms;
  ExactSums() = default;
  // Zeros of `s`, to be summed into with add().
  explicit ExactSums(Shape s)
      : shape(std::move(s)), value(size_t(numel_of(shape))), magnitude(value.size()), terms(value.size()) {}
  // Adds the term `v` to element `i`.
  void add(int64_t i, double v) { value[size_t(i)] += v, magnitude[size_t(i)] += std::fabs(v), ++terms[size_t(i)]; }
};

// The unit roundoff of a float dtype.
inline double unit_roundoff(DType dt) { return dt == DType::f32 ? 0x1p-24 : dt == DType::f16 ? 0x1p-11 : 0x1p-8; }

// Whether every element of `got` is within the bound above of `want`; else the count and the worst element.
inline ::testing::AssertionResult matches(const Tensor& got, const ExactSums& want) {
  if (got.shape() != want.shape)
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << ", want " << shape_str(want.shape);
  const std::vector<float> g = got.to_f32();
  const double u_out = unit_roundoff(got.dtype()), smallest = 0x1p-14 * u_out;  // f16's subnormal spacing
  size_t bad = 0, worst = 0;
  double worst_ratio = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double acc = double(want.terms[i] + 1) * 0x1p-24 * want.magnitude[i];
    const double bound = acc + u_out * (std::fabs(want.value[i]) + acc) + smallest;
    const double ratio = std::fabs(g[i] - want.value[i]) / bound;
    if (!(ratio <= 1)) ++bad;
    if (!(ratio <= worst_ratio)) worst_ratio = ratio, worst = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << g.size() << " elements of " << got.str()
                                       << " out of bounds; worst at " << worst << ": got " << g[worst] << ", want "
                                       << want.value[worst] << " (" << worst_ratio << " x the bound)";
}

}  // namespace glint::test
