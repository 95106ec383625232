// Elementwise ops: binary arithmetic and comparisons with numpy/torch broadcasting, unary activations, clamp
// and where. Outputs are new contiguous tensors on the inputs' device.
//
// Dtypes: both inputs of a binary op share one dtype (no promotion). f16 / bf16 compute in f32 and round once.
// Integer dtypes (i32, i64, u8, i8) are accepted where integer semantics are clear: add / sub / mul wrap around
// (two's complement), div is floor division (Python's and torch's `//`; x / 0 gives 0 instead of trapping),
// maximum / minimum, comparisons, neg (wraps), abs, relu, clamp and where. pow and the transcendental ops are
// floating-point only. A scalar used with an integer tensor must be an integer that fits the dtype.
// Comparisons return u8 (1 / 0).
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// The values are the OP specialization constant of kernels/binary.comp: keep both lists in the same order.
enum class BinaryOp : uint32_t { add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge };
// The values are the OP specialization constant of kernels/unary.comp: keep both lists in the same order.
enum class UnaryOp : uint32_t { neg, abs, exp, log, sqrt, rsqrt, tanh, sigmoid, silu, gelu, gelu_tanh, relu, clamp };

std::string_view op_name(BinaryOp op);
std::string_view op_name(UnaryOp op);
// True for eq, ne, lt, le, gt, ge (u8 result).
constexpr bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq; }

// The broadcast shape of a and b (numpy rules: align trailing dims; sizes must match or be 1); throws "[op] ...".
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// Binary ops on tensors of one dtype, broadcasting.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // floor division for integer dtypes
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // NaN if either is NaN (torch.maximum)
Tensor minimum(const Tensor& a, const Tensor& b);  // NaN if either is NaN (torch.minimum)
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
// Any binary op by its code (what the named functions call).
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);

// Tensor-scalar ops. For f32 / f16 / bf16 the scalar is used as an f32 (as torch does), not rounded to the dtype.
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor pow(const Tensor& a, double b);
Tensor binary(BinaryOp op, const Tensor& a, double b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator-(const Tensor& a);  // neg

// Unary ops, same dtype out.
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);       // x * sigmoid(x)
Tensor gelu(const Tensor& x);       // x/2 * (1 + erf(x / sqrt 2)), torch's default
Tensor gelu_tanh(const Tensor& x);  // torch's approximate='tanh'
Tensor relu(const Tensor& x);
// Limits x to [lo, hi]; an absent bound does not limit; NaN stays NaN. Integer tensors need integer bounds.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// Any unary op but clamp by its code.
Tensor unary(UnaryOp op, const Tensor& x);

// cond ? a : b elementwise, broadcasting all three; cond of any dtype (nonzero = true), a and b of one dtype.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Bounds as the kernels use them: f32 for floating dtypes, int64 for integer ones; absent bounds are +-inf and
// the int64 range.
struct ClampBounds {
  float lo_f, hi_f;
  int64_t lo_i, hi_i;
};

// Kernels. Inputs are on one device with the same dtype, already expanded to out's shape (broadcast dims have
// stride 0, any other strides possible); out is new and contiguous.
// out = a op b; out is u8 for comparisons, else a's dtype.
inline OpTable<void(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out)> binary_kernel("binary");
// out = a op b with b a scalar: used as f32 for floating dtypes, as int64 (exact, checked by the op) for integers.
inline OpTable<void(BinaryOp op, const Tensor& a, double b, const Tensor& out)> binary_scalar_kernel("binary_scalar");
// out = op(x); bounds are read by clamp only (relu is UnaryOp::relu, not a clamp).
inline OpTable<void(UnaryOp op, const Tensor& x, const ClampBounds& bounds, const Tensor& out)> unary_kernel("unary");
// out = cond ? a : b; cond is u8 (0 / 1 or any nonzero), a and b share out's dtype.
inline OpTable<void(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out)> where_kernel("where");

}  // namespace glint
