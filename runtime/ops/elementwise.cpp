#include "runtime/ops/elementwise.h"

#include <cmath>
#include <limits>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise_grad.h"

namespace glint {
namespace {

constexpr std::string_view kBinaryNames[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                             "eq",  "ne",  "lt",  "le",  "gt",  "ge"};
constexpr std::string_view kUnaryNames[] = {"neg",     "abs",  "exp",  "log",       "sqrt", "rsqrt", "tanh",
                                            "sigmoid", "silu", "gelu", "gelu_tanh", "relu", "clamp"};

// Ops whose integer meaning is clear (see the header); the rest need a floating dtype.
bool accepts_integers(BinaryOp op) { return op != BinaryOp::pow; }
bool accepts_integers(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::relu || op == UnaryOp::clamp;
}

void check_defined(const Tensor& t, std::string_view op) { GLINT_CHECK(t.defined(), op, "undefined input tensor"); }

void check_dtype_supported(DType dt, bool integers_ok, std::string_view op) {
  GLINT_CHECK(is_floating(dt) || integers_ok, op, "unsupported dtype ", dtype_name(dt), " (expected f32, f16 or bf16)");
}

void check_same_device(const Tensor& a, const Tensor& b, std::string_view op) {
  GLINT_CHECK(a.device() == b.device(), op, "tensors on different devices: ", a.device().str(), " and ",
              b.device().str());
}

void check_same_dtype(const Tensor& a, const Tensor& b, std::string_view op) {
  GLINT_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
}

// The range of an integer dtype, as doubles (exact: the bounds are powers of two or one less, and the checks below
// compare integers below 2^53 or exactly representable bounds).
std::pair<double, double> int_range(DType dt) {
  switch (dt) {
    case DType::i32:
      return {-2147483648.0, 2147483647.0};
    case DType::u8:
      return {0.0, 255.0};
    case DType::i8:
      return {-128.0, 127.0};
    default:
      return {-9223372036854775808.0, 9223372036854775807.0};
  }
}

// An integer tensor takes only integer scalars that fit its dtype: torch would promote the result to a float
// dtype instead, which this library never does implicitly.
void check_int_scalar(double v, DType dt, std::string_view op) {
  auto [lo, hi] = int_range(dt);
  GLINT_CHECK(std::isfinite(v) && v == std::trunc(v) && v >= lo && v <= hi && v < 9223372036854775807.0, op, "scalar ",
              v, " is not an integer representable in ", dtype_name(dt));
}

}  // namespace

std::string_view op_name(BinaryOp op) { return kBinaryNames[static_cast<uint32_t>(op)]; }
std::string_view op_name(UnaryOp op) { return kUnaryNames[static_cast<uint32_t>(op)]; }

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    GLINT_CHECK(da == db || da == 1 || db == 1, op, "shapes ", shape_str(a), " and ", shape_str(b),
                " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const std::string_view name = op_name(op);
  check_defined(a, name);
  check_defined(b, name);
  check_same_device(a, b, name);
  check_same_dtype(a, b, name);
  check_dtype_supported(a.dtype(), accepts_integers(op), name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, is_comparison(op) ? DType::u8 : a.dtype(), a.device());
  if (out.numel()) binary_kernel(a.device(), op, a.detach().expand(shape), b.detach().expand(shape), out);
  if (autograd::needs_grad({a, b})) record_binary(op, a, b, out);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, double b) {
  const std::string_view name = op_name(op);
  check_defined(a, name);
  check_dtype_supported(a.dtype(), accepts_integers(op), name);
  if (!is_floating(a.dtype())) check_int_scalar(b, a.dtype(), name);
  Tensor out = Tensor::empty(a.shape(), is_comparison(op) ? DType::u8 : a.dtype(), a.device());
  if (out.numel()) binary_scalar_kernel(a.device(), op, a, b, out);
  if (autograd::needs_grad({a})) record_binary_scalar(op, a, b, out);
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::minimum, a, b); }
Tensor eq(const Tensor& a, const Tensor& b) { return binary(BinaryOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary(BinaryOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary(BinaryOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary(BinaryOp::ge, a, b); }

Tensor add(const Tensor& a, double b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, double b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, double b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, double b) { return binary(BinaryOp::div, a, b); }
Tensor pow(const Tensor& a, double b) { return binary(BinaryOp::pow, a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }

namespace {

Tensor unary_with(UnaryOp op, const Tensor& x, const ClampBounds& bounds) {
  const std::string_view name = op_name(op);
  check_defined(x, name);
  check_dtype_supported(x.dtype(), accepts_integers(op), name);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel()) unary_kernel(x.device(), op, x, bounds, out);
  if (autograd::needs_grad({x})) record_unary(op, x, bounds, out);
  return out;
}

constexpr ClampBounds kNoBounds{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(),
                                std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x) {
  GLINT_CHECK(op != UnaryOp::clamp, "clamp", "needs bounds: call clamp(x, lo, hi)");
  return unary_with(op, x, kNoBounds);
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::abs, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::rsqrt, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x); }
Tensor silu(const Tensor& x) { return unary(UnaryOp::silu, x); }
Tensor gelu(const Tensor& x) { return unary(UnaryOp::gelu, x); }
Tensor gelu_tanh(const Tensor& x) { return unary(UnaryOp::gelu_tanh, x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x); }

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  check_defined(x, "clamp");
  ClampBounds b = kNoBounds;
  for (auto [bound, f, i] : {std::tuple{lo, &b.lo_f, &b.lo_i}, std::tuple{hi, &b.hi_f, &b.hi_i}}) {
    if (!bound) continue;
    GLINT_CHECK(!std::isnan(*bound), "clamp", "bound is NaN");
    *f = static_cast<float>(*bound);
    if (!is_floating(x.dtype())) {
      // A bound beyond the dtype's range limits nothing; keep it inside int64 so the conversion is defined.
      GLINT_CHECK(*bound == std::trunc(*bound), "clamp", "bound ", *bound, " is not an integer for ",
                  dtype_name(x.dtype()), " input");
      auto [rlo, rhi] = int_range(DType::i64);
      *i = *bound <= rlo   ? std::numeric_limits<int64_t>::min()
           : *bound >= rhi ? std::numeric_limits<int64_t>::max()
                           : static_cast<int64_t>(*bound);
    }
  }
  return unary_with(UnaryOp::clamp, x, b);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where");
  check_defined(a, "where");
  check_defined(b, "where");
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  check_same_dtype(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  if (out.numel()) {
    // Kernels take a u8 condition; any other dtype becomes one (at cond's own, unbroadcast size) so that float
    // conditions follow truthiness (0.5 and NaN are true, -0.0 false) rather than a cast's truncation.
    Tensor c = cond.dtype() == DType::u8 ? cond.detach() : binary(BinaryOp::ne, cond.detach(), 0.0);
    where_kernel(a.device(), c.expand(shape), a.detach().expand(shape), b.detach().expand(shape), out);
  }
  if (autograd::needs_grad({a, b})) record_where(cond, a, b, out);
  return out;
}

}  // namespace glint
