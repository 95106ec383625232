// CPU helpers shared by the row-wise kernels (reductions, softmax, norms): where each row of a tensor starts, row
// access that vectorises when the row is contiguous, and f32 summation that stays accurate on long rows without
// falling back to double.
#pragma once
#include <cmath>
#include <cstdint>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/vec_math.h"

namespace glint::cpu {

// The rows of x along `dim`: row o (row-major over the other dims) starts at element offset(o) and holds `len`
// elements `stride` apart. The other dims are coalesced, so the innermost kept dim is `shape.back()`.
struct RowSet {
  Shape shape, strides;
  int64_t len = 0, stride = 0;

  RowSet(const Tensor& x, int dim) : len(x.shape()[dim]), stride(x.strides()[dim]) {
    std::array<Shape, 1> st{Shape{}};
    for (int d = 0; d < x.ndim(); ++d) {
      if (d == dim) continue;
      shape.push_back(x.shape()[d]);
      st[0].push_back(x.strides()[d]);
    }
    coalesce(shape, st);
    strides = st[0];
  }
  int64_t count() const { return numel_of(shape); }
  int64_t offset(int64_t o) const {
    int64_t off = 0;
    for (int d = int(shape.size()) - 1; d >= 0 && o; --d) {
      off += (o % shape[d]) * strides[d];
      o /= shape[d];
    }
    return off;
  }
  // Whether walking rows side by side (the innermost kept dim in the inner loop) reads memory in a better order
  // than walking each row on its own: the reduced dim is the outer one in memory.
  bool columnwise() const { return shape.back() > 1 && strides.back() < stride; }
};

// Sum of f(begin) ... f(begin + n - 1) by pairwise summation (as numpy does): the rounding error grows with log(n)
// instead of n. Leaves of up to 128 terms use 8 independent lanes so the compiler can vectorise them. A range of
// n > 128 splits at half = (n / 2) rounded down to a multiple of 8, and the two halves' sums are added. The tree is
// walked with an explicit stack rather than by recursion, so that the whole sum inlines into its caller and is
// compiled for the caller's target (GLINT_SIMD_CLONES): a recursive template would stay a baseline function.
template <class F>
[[gnu::always_inline]] inline float pairwise_leaf(int64_t begin, int64_t n, const F& f) {
  float lane[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] += f(begin + i + j);
  float tail = 0;
  for (; i < n; ++i) tail += f(begin + i);
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])) + tail;
}
template <class F>
[[gnu::always_inline]] inline float pairwise_sum(int64_t begin, int64_t n, const F& f) {
  struct Range {
    int64_t begin, n;
    float left;   // the left half's sum, once known
    int visited;  // 0: neither half summed, 1: the left one is being summed, 2: the right one
  };
  Range stack[64];  // depth <= log2(n / 128) + 1
  int top = 0;
  stack[0] = {begin, n, 0.f, 0};
  float sum = 0.f;  // the sum of the range last finished
  for (;;) {
    Range& r = stack[top];
    const int64_t half = (r.n / 2) & ~int64_t{7};
    if (r.n <= 128) {
      sum = pairwise_leaf(r.begin, r.n, f);
    } else if (r.visited == 0) {
      r.visited = 1;
      stack[++top] = {r.begin, half, 0.f, 0};
      continue;
    } else if (r.visited == 1) {
      r.left = sum, r.visited = 2;
      stack[++top] = {r.begin + half, r.n - half, 0.f, 0};
      continue;
    } else {
      sum = r.left + sum;
    }
    if (top == 0) return sum;
    --top;
  }
}

// Kahan-compensated running sum: sum += x with the rounding error carried in comp. Used where terms arrive one at
// a time per sum (column-wise walks keep one per column, in arrays so the columns vectorise).
inline void kahan_add(float& sum, float& comp, float x) {
  float y = x - comp;
  float t = sum + y;
  comp = (t - sum) - y;
  sum = t;
}

// Calls f(at) with `at(i)` loading element i of a row `stride` apart; a stride-1 row gets its own instantiation
// so that the loops over it vectorise.
template <class T, class F>
decltype(auto) with_row(const T* p, int64_t stride, const F& f) {
  if (stride == 1) return f([p](int64_t i) { return p[i]; });
  return f([p, stride](int64_t i) { return p[i * stride]; });
}

// The row widened to f32 into buf[0, n).
template <class T>
void load_row(const T* p, int64_t n, int64_t stride, float* buf) {
  with_row(p, stride, [&](auto at) {
    for (int64_t i = 0; i < n; ++i) buf[i] = to_float(at(i));
  });
}

// buf[0, n) narrowed to T into a row `stride` apart.
template <class T>
void store_row(const float* buf, int64_t n, T* p, int64_t stride) {
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) p[i] = from_float<T>(buf[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) p[i * stride] = from_float<T>(buf[i]);
  }
}

// buf[0, len) = softmax (or log_softmax) of itself. A row holding NaN comes out all NaN, as in torch.
[[gnu::always_inline]] inline void softmax_row(float* buf, int64_t len, bool log) {
  float m = -INFINITY;
  bool nan = false;
  for (int64_t i = 0; i < len; ++i) {
    nan |= std::isnan(buf[i]);
    m = buf[i] > m ? buf[i] : m;
  }
  m = nan ? NAN : m;
  if (log) {
    const float log_s = std::log(pairwise_sum(0, len, [&](int64_t i) { return exp_f32(buf[i] - m); }));
    for (int64_t i = 0; i < len; ++i) buf[i] = (buf[i] - m) - log_s;
  } else {
    for (int64_t i = 0; i < len; ++i) buf[i] = exp_f32(buf[i] - m);
    const float inv = 1.f / pairwise_sum(0, len, [&](int64_t i) { return buf[i]; });
    for (int64_t i = 0; i < len; ++i) buf[i] *= inv;
  }
}

}  // namespace glint::cpu
