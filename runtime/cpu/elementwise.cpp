// CPU elementwise kernels. The iteration space is coalesced and cut into chunks of whole or partial innermost rows
// (one OpenMP task per chunk); each row runs a loop specialised for unit / zero inner strides, which the compiler
// vectorises for f32 and the integer dtypes. The op is a template parameter, so no loop tests it per element.
#include "runtime/ops/elementwise.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "runtime/cpu/elem.h"
#include "runtime/cpu/simd_clones.h"
#include "runtime/cpu/visit_unary.h"
#include "runtime/cpu/vec_math.h"

namespace glint::cpu {
namespace {

// Elements per OpenMP task: large enough to amortise the per-chunk coordinate walk, small enough to balance.
constexpr int64_t kChunk = 1 << 15;

// Calls row(offsets, len, inner_strides) over the rows of the coalesced iteration space, in parallel chunks of
// kChunk elements; offsets[k] is the element offset of operand k at the row's first element.
template <size_t N, class Row>
GLINT_SIMD_CLONES void for_each_row(Shape shape, std::array<Shape, N> strides, Row&& row) {
  coalesce(shape, strides);
  const int nd = int(shape.size());
  const int64_t inner = shape[nd - 1], total = numel_of(shape);
  std::array<int64_t, N> step;
  for (size_t k = 0; k < N; ++k) step[k] = strides[k][nd - 1];
  const int64_t tasks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (tasks > 1)
  for (int64_t t = 0; t < tasks; ++t) {
    for (int64_t i = t * kChunk, end = std::min(total, i + kChunk); i < end;) {
      int64_t col = i % inner, rem = i / inner;
      std::array<int64_t, N> off;
      for (size_t k = 0; k < N; ++k) off[k] = col * step[k];
      for (int d = nd - 2; d >= 0; --d) {
        int64_t c = rem % shape[d];
        rem /= shape[d];
        for (size_t k = 0; k < N; ++k) off[k] += c * strides[k][d];
      }
      const int64_t len = std::min(inner - col, end - i);
      row(off, len, step);
      i += len;
    }
  }
}

// Arithmetic type of an element type: f32 for floating types, int64 for integers.
template <class T>
using Acc = std::conditional_t<is_float_elem<T>, float, int64_t>;

template <class T>
inline Acc<T> load(T v) {
  if constexpr (is_float_elem<T>) return to_float(v);
  else return static_cast<int64_t>(v);
}
template <class T>
inline T store(Acc<T> v) {
  if constexpr (is_float_elem<T>) return from_float<T>(v);
  else return static_cast<T>(v);  // modular narrowing (C++20)
}

// Floor division with the two traps of integer division defined: x / 0 = 0 and INT64_MIN / -1 wraps.
inline int64_t floor_div(int64_t x, int64_t y) {
  if (y == 0) return 0;
  if (y == -1) return int64_t(0 - uint64_t(x));
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

// a OP b for the arithmetic ops: f32 for floating dtypes; int64 for integers, wrapping through uint64 where signed
// overflow would be undefined. OP is a constant, so each instantiation keeps one case.
template <BinaryOp OP>
inline float arith(float x, float y) {
  switch (OP) {
    case BinaryOp::add: return x + y;
    case BinaryOp::sub: return x - y;
    case BinaryOp::mul: return x * y;
    case BinaryOp::div: return x / y;
    case BinaryOp::pow: return std::pow(x, y);
    case BinaryOp::maximum: return (x > y || x != x) ? x : y;  // NaN wins, as torch.maximum
    case BinaryOp::minimum: return (x < y || x != x) ? x : y;
    default: return 0;  // comparisons: compare()
  }
}
template <BinaryOp OP>
inline int64_t arith(int64_t x, int64_t y) {
  switch (OP) {
    case BinaryOp::add: return int64_t(uint64_t(x) + uint64_t(y));
    case BinaryOp::sub: return int64_t(uint64_t(x) - uint64_t(y));
    case BinaryOp::mul: return int64_t(uint64_t(x) * uint64_t(y));
    case BinaryOp::div: return floor_div(x, y);
    case BinaryOp::maximum: return std::max(x, y);
    case BinaryOp::minimum: return std::min(x, y);
    default: return 0;  // pow is rejected by the op definition; comparisons: compare()
  }
}
template <BinaryOp OP, class V>
inline uint8_t compare(V x, V y) {
  switch (OP) {
    case BinaryOp::eq: return x == y;
    case BinaryOp::ne: return !(x == y);
    case BinaryOp::lt: return x < y;
    case BinaryOp::le: return x <= y;
    case BinaryOp::gt: return x > y;
    default: return x >= y;
  }
}

// Calls f.template operator()<OP>() with OP the runtime op.
template <class F>
void visit_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add: return f.template operator()<BinaryOp::add>();
    case BinaryOp::sub: return f.template operator()<BinaryOp::sub>();
    case BinaryOp::mul: return f.template operator()<BinaryOp::mul>();
    case BinaryOp::div: return f.template operator()<BinaryOp::div>();
    case BinaryOp::pow: return f.template operator()<BinaryOp::pow>();
    case BinaryOp::maximum: return f.template operator()<BinaryOp::maximum>();
    case BinaryOp::minimum: return f.template operator()<BinaryOp::minimum>();
    case BinaryOp::eq: return f.template operator()<BinaryOp::eq>();
    case BinaryOp::ne: return f.template operator()<BinaryOp::ne>();
    case BinaryOp::lt: return f.template operator()<BinaryOp::lt>();
    case BinaryOp::le: return f.template operator()<BinaryOp::le>();
    case BinaryOp::gt: return f.template operator()<BinaryOp::gt>();
    case BinaryOp::ge: return f.template operator()<BinaryOp::ge>();
  }
}

// out = a OP b; b is a tensor (B = const T*) or one value (B = Acc<T>).
template <BinaryOp OP, class T, class B>
void binary_loop(const Tensor& a, B b, const Shape& b_strides, const Tensor& out) {
  using O = std::conditional_t<is_comparison(OP), uint8_t, T>;
  const T* pa = ptr<T>(a);
  O* po = ptr<O>(out);
  auto result = [](Acc<T> x, Acc<T> y) {
    if constexpr (is_comparison(OP)) return compare<OP>(x, y);
    else return store<T>(arith<OP>(x, y));
  };
  for_each_row<3>(out.shape(), {a.strides(), b_strides, out.strides()},
                  [&](const std::array<int64_t, 3>& o, int64_t n, const std::array<int64_t, 3>& s) {
                    const T* x = pa + o[0];
                    O* r = po + o[2];
                    if constexpr (std::is_pointer_v<B>) {
                      const T* y = b + o[1];
                      if (s[0] == 1 && s[1] == 1) {
                        for (int64_t i = 0; i < n; ++i) r[i] = result(load(x[i]), load(y[i]));
                      } else if (s[0] == 1 && s[1] == 0) {
                        const Acc<T> yv = load(y[0]);
                        for (int64_t i = 0; i < n; ++i) r[i] = result(load(x[i]), yv);
                      } else if (s[0] == 0 && s[1] == 1) {
                        const Acc<T> xv = load(x[0]);
                        for (int64_t i = 0; i < n; ++i) r[i] = result(xv, load(y[i]));
                      } else {
                        for (int64_t i = 0; i < n; ++i) r[i] = result(load(x[i * s[0]]), load(y[i * s[1]]));
                      }
                    } else if (s[0] == 1) {
                      for (int64_t i = 0; i < n; ++i) r[i] = result(load(x[i]), b);
                    } else {
                      for (int64_t i = 0; i < n; ++i) r[i] = result(load(x[i * s[0]]), b);
                    }
                  });
}

void binary_cpu(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    visit_binary(op, [&]<BinaryOp OP>() { binary_loop<OP, T>(a, ptr<T>(b), b.strides(), out); });
  });
}

void binary_scalar_cpu(BinaryOp op, const Tensor& a, double b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    const Acc<T> value = static_cast<Acc<T>>(b);  // the op checked that integers fit
    visit_binary(op, [&]<BinaryOp OP>() { binary_loop<OP, T>(a, value, Shape(a.ndim(), 0), out); });
  });
}

// The formulas are torch's (aten/src/ATen/native/cpu), evaluated in f32.
template <UnaryOp OP>
inline float unary_op(float x, const ClampBounds& b) {
  switch (OP) {
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return std::fabs(x);
    case UnaryOp::exp: return exp_f32(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return 1.0f / std::sqrt(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return sigmoid_f32(x);
    case UnaryOp::silu: return x / (1.0f + exp_f32(-x));
    case UnaryOp::gelu: return x * 0.5f * (1.0f + erf_f32(x * float(std::numbers::sqrt2 / 2)));
    case UnaryOp::gelu_tanh: {
      constexpr float kBeta = float(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
      const float inner = kBeta * (x + 0.044715f * (x * x * x));
      return 0.5f * x * (1.0f + std::tanh(inner));
    }
    case UnaryOp::relu: return x < 0.0f ? 0.0f : x;  // NaN stays NaN
    case UnaryOp::clamp: return x < b.lo_f ? b.lo_f : (x > b.hi_f ? b.hi_f : x);
  }
  return x;
}
template <UnaryOp OP>
inline int64_t unary_op(int64_t x, const ClampBounds& b) {
  switch (OP) {
    case UnaryOp::neg: return int64_t(0 - uint64_t(x));
    case UnaryOp::abs: return x < 0 ? int64_t(0 - uint64_t(x)) : x;
    case UnaryOp::relu: return x < 0 ? 0 : x;
    case UnaryOp::clamp: return std::min(std::max(x, b.lo_i), b.hi_i);
    default: return x;  // floating-only ops are rejected by the op definition
  }
}

void unary_cpu(UnaryOp op, const Tensor& x, const ClampBounds& bounds, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    visit_unary(op, [&]<UnaryOp OP>() {
      const T* px = ptr<T>(x);
      T* po = ptr<T>(out);
      for_each_row<2>(out.shape(), {x.strides(), out.strides()},
                      [&](const std::array<int64_t, 2>& o, int64_t n, const std::array<int64_t, 2>& s) {
                        const T* in = px + o[0];
                        T* r = po + o[1];
                        if (s[0] == 1) {
                          for (int64_t i = 0; i < n; ++i) r[i] = store<T>(unary_op<OP>(load(in[i]), bounds));
                        } else {
                          for (int64_t i = 0; i < n; ++i) r[i] = store<T>(unary_op<OP>(load(in[i * s[0]]), bounds));
                        }
                      });
    });
  });
}

// where moves elements unchanged, so it runs on same-size unsigned words (NaN payloads and -0.0 survive).
template <size_t Bytes>
using Word =
    std::conditional_t<Bytes == 1, uint8_t,
                       std::conditional_t<Bytes == 2, uint16_t, std::conditional_t<Bytes == 4, uint32_t, uint64_t>>>;

template <class W>
void where_loop(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  const uint8_t* pc = ptr<uint8_t>(cond);
  const W* pa = ptr<W>(a);
  const W* pb = ptr<W>(b);
  W* po = ptr<W>(out);
  for_each_row<4>(out.shape(), {cond.strides(), a.strides(), b.strides(), out.strides()},
                  [&](const std::array<int64_t, 4>& o, int64_t n, const std::array<int64_t, 4>& s) {
                    const uint8_t* c = pc + o[0];
                    const W* x = pa + o[1];
                    const W* y = pb + o[2];
                    W* r = po + o[3];
                    for (int64_t i = 0; i < n; ++i) r[i] = c[i * s[0]] ? x[i * s[1]] : y[i * s[2]];
                  });
}

void where_cpu(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  switch (dtype_size(out.dtype())) {
    case 1:
      return where_loop<Word<1>>(cond, a, b, out);
    case 2:
      return where_loop<Word<2>>(cond, a, b, out);
    case 4:
      return where_loop<Word<4>>(cond, a, b, out);
    default:
      return where_loop<Word<8>>(cond, a, b, out);
  }
}

const OpRegistration reg_binary(binary_kernel, DeviceKind::cpu, binary_cpu);
const OpRegistration reg_binary_scalar(binary_scalar_kernel, DeviceKind::cpu, binary_scalar_cpu);
const OpRegistration reg_unary(unary_kernel, DeviceKind::cpu, unary_cpu);
const OpRegistration reg_where(where_kernel, DeviceKind::cpu, where_cpu);

}  // namespace
}  // namespace glint::cpu
