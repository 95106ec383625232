// Elementwise ops on every device against naive double / int64 loops written here: every op and dtype, numpy
// broadcasting (size-0, size-1 and rank-changing dims), non-contiguous views, the 4-wide contiguous path with
// odd tails and unaligned views, special values, and the [op] errors.
//
// Bounds: results are compared with tol(dtype). For f32 that is 1e-5 absolute + 1e-5 relative (~84 ulp at 1.0);
// the kernels are within ~2 ulp of the exact value (elementwise_math.glsl, glibc), except pow, whose error grows
// to ~(2 + |y ln x|) ulp: inputs here keep |y ln x| < 5, so < 8 ulp. gelu / silu of negative inputs cancel
// (x/2 * (1 + erf)), leaving an absolute error of ~|x| 2^-24 < 1e-6, inside the absolute part. f16 / bf16 round
// one f32 result, half an ulp of the dtype, well inside their bounds. Integer results must match exactly.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>

#include "runtime/ops/elementwise.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

constexpr DType kFloatTypes[] = {DType::f32, DType::f16, DType::bf16};
constexpr DType kIntTypes[] = {DType::i32, DType::i64, DType::u8, DType::i8};
constexpr BinaryOp kAllBinary[] = {BinaryOp::add,     BinaryOp::sub,     BinaryOp::mul, BinaryOp::div, BinaryOp::pow,
                                   BinaryOp::maximum, BinaryOp::minimum, BinaryOp::eq,  BinaryOp::ne,  BinaryOp::lt,
                                   BinaryOp::le,      BinaryOp::gt,      BinaryOp::ge};
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- inputs ----

std::vector<float> uniform(int64_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// `values` (logical row-major order) as a tensor of dt on dev; strided: the last two dims stored transposed
// inside a row-padded buffer at a nonzero offset (a 1-d tensor is just offset, so contiguous but unaligned).
Tensor make(const std::vector<float>& values, const Shape& shape, DType dt, Device dev, bool strided = false) {
  Tensor t = Tensor::from_vector(values, shape, DType::f32, Device::cpu());
  if (!strided || shape.empty()) return t.to(dt).to(dev);
  if (shape.size() >= 2) t = t.transpose(-1, -2);
  Shape padded = t.shape();
  padded.back() += 3;
  Tensor big = zeros(padded, DType::f32, Device::cpu());
  big.slice(-1, 1, 1 + t.shape().back()).copy_from(t);
  Tensor view = big.to(dt).to(dev).slice(-1, 1, 1 + t.shape().back());
  return shape.size() >= 2 ? view.transpose(-1, -2) : view;
}

// Operand values suited to op: pow bases in [1/4, 4] with exponents in [-3, 3]; divisors with |b| in [1/2, 2];
// otherwise a grid of quarters in [-2, 2], exact in every dtype, so comparisons see ties.
std::pair<std::vector<float>, std::vector<float>> operand_values(BinaryOp op, int64_t na, int64_t nb, uint64_t seed) {
  std::vector<float> a = uniform(na, seed, -2, 2), b = uniform(nb, seed + 1, -2, 2);
  if (op == BinaryOp::pow) {
    for (float& x : a) x = std::exp(x * 0.7f);
    for (float& y : b) y *= 1.5f;
  } else if (op == BinaryOp::div) {
    for (float& y : b) y = std::copysign(0.5f + 0.75f * std::fabs(y), y);
  } else {
    for (float& x : a) x = std::round(x * 4) / 4;
    for (float& y : b) y = std::round(y * 4) / 4;
  }
  return {a, b};
}

// ---- naive references ----

// Flat index into an input of shape `in` of output element `flat` under numpy broadcasting.
int64_t source_index(const Shape& out, const Shape& in, int64_t flat) {
  int64_t idx = 0, step = 1;
  for (int d = int(out.size()) - 1, e = int(in.size()) - 1; d >= 0; --d, --e) {
    const int64_t c = flat % out[d];
    flat /= out[d];
    if (e < 0) continue;
    if (in[e] != 1) idx += c * step;
    step *= in[e];
  }
  return idx;
}

Shape broadcast(const Shape& a, const Shape& b) { return broadcast_shapes(a, b, "test"); }

double ref_float(BinaryOp op, double x, double y) {
  switch (op) {
    case BinaryOp::add:
      return x + y;
    case BinaryOp::sub:
      return x - y;
    case BinaryOp::mul:
      return x * y;
    case BinaryOp::div:
      return x / y;
    case BinaryOp::pow:
      return std::pow(x, y);
    case BinaryOp::maximum:
      return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y);
    case BinaryOp::minimum:
      return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y);
    case BinaryOp::eq:
      return x == y;
    case BinaryOp::ne:
      return x != y;
    case BinaryOp::lt:
      return x < y;
    case BinaryOp::le:
      return x <= y;
    case BinaryOp::gt:
      return x > y;
    case BinaryOp::ge:
      return x >= y;
  }
  return 0;
}

// Wraps an int64 result to dt, as a store to that dtype does.
int64_t narrow(int64_t v, DType dt) {
  switch (dt) {
    case DType::i32:
      return int32_t(v);
    case DType::u8:
      return uint8_t(v);
    case DType::i8:
      return int8_t(v);
    default:
      return v;
  }
}

int64_t ref_int(BinaryOp op, int64_t x, int64_t y) {
  const uint64_t ux = uint64_t(x), uy = uint64_t(y);
  switch (op) {
    case BinaryOp::add:
      return int64_t(ux + uy);
    case BinaryOp::sub:
      return int64_t(ux - uy);
    case BinaryOp::mul:
      return int64_t(ux * uy);
    case BinaryOp::div: {  // floor division; x / 0 = 0, x / -1 wraps
      if (y == 0) return 0;
      if (y == -1) return int64_t(0 - ux);
      const int64_t q = x / y;
      return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
    }
    case BinaryOp::maximum:
      return std::max(x, y);
    case BinaryOp::minimum:
      return std::min(x, y);
    case BinaryOp::eq:
      return x == y;
    case BinaryOp::ne:
      return x != y;
    case BinaryOp::lt:
      return x < y;
    case BinaryOp::le:
      return x <= y;
    case BinaryOp::gt:
      return x > y;
    case BinaryOp::ge:
      return x >= y;
    case BinaryOp::pow:
      break;
  }
  return 0;
}

std::vector<int64_t> int_values(const Tensor& t) { return t.to(DType::i64).to_vector<int64_t>(); }

// a op b over the broadcast shape, in double from the inputs' dtype-rounded values.
std::vector<float> ref_binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const Shape out = broadcast(a.shape(), b.shape());
  const std::vector<float> x = a.to_f32(), y = b.to_f32();
  std::vector<float> r(size_t(numel_of(out)));
  for (int64_t i = 0; i < numel_of(out); ++i)
    r[i] = float(ref_float(op, x[source_index(out, a.shape(), i)], y[source_index(out, b.shape(), i)]));
  return r;
}

std::vector<int64_t> ref_binary_int(BinaryOp op, const Tensor& a, const Tensor& b) {
  const Shape out = broadcast(a.shape(), b.shape());
  const std::vector<int64_t> x = int_values(a), y = int_values(b);
  std::vector<int64_t> r(size_t(numel_of(out)));
  for (int64_t i = 0; i < numel_of(out); ++i) {
    const int64_t v = ref_int(op, x[source_index(out, a.shape(), i)], y[source_index(out, b.shape(), i)]);
    r[i] = is_comparison(op) ? v : narrow(v, a.dtype());
  }
  return r;
}

double ref_unary(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::abs:
      return std::fabs(x);
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::rsqrt:
      return 1 / std::sqrt(x);
    case UnaryOp::tanh:
      return std::tanh(x);
    case UnaryOp::sigmoid:
      return 1 / (1 + std::exp(-x));
    case UnaryOp::silu:
      return x / (1 + std::exp(-x));
    case UnaryOp::gelu:
      return x / 2 * (1 + std::erf(x / std::sqrt(2.0)));
    case UnaryOp::gelu_tanh:
      return x / 2 * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case UnaryOp::relu:
      return x < 0 ? 0 : x;
    case UnaryOp::clamp:
      break;
  }
  return x;
}

// Input range per unary op: inside the domain, and exp's results inside f16's range.
std::pair<float, float> unary_range(UnaryOp op) {
  switch (op) {
    case UnaryOp::log:
    case UnaryOp::sqrt:
    case UnaryOp::rsqrt:
      return {0.05f, 20.f};
    case UnaryOp::exp:
    case UnaryOp::tanh:
    case UnaryOp::sigmoid:
    case UnaryOp::silu:
    case UnaryOp::gelu:
    case UnaryOp::gelu_tanh:
      return {-8.f, 8.f};
    default:
      return {-3.f, 3.f};
  }
}

struct ShapePair {
  Shape a, b;
};
// Same shapes (odd, prime), broadcasting in both directions, rank change, 0-d, size-0 and size-1 dims.
const std::vector<ShapePair> kBroadcastCases = {
    {{5, 7}, {5, 7}}, {{3, 1, 5}, {4, 5}}, {{1, 13}, {11, 1}}, {{}, {2, 3}},     {{6}, {}},
    {{0, 5}, {1, 5}}, {{2, 0}, {2, 1}},    {{1}, {1}},         {{2, 1, 3}, {3}},
};

// ---- binary ----

TEST(Elementwise, BinaryFloatEveryOpDtypeAndBroadcast) {
  for (DType dt : kFloatTypes) {
    for (BinaryOp op : kAllBinary) {
      uint64_t seed = 10;
      for (const ShapePair& sp : kBroadcastCases) {
        for (bool strided : {false, true}) {
          SCOPED_TRACE(::testing::Message() << op_name(op) << " " << dtype_name(dt) << " " << shape_str(sp.a) << " "
                                            << shape_str(sp.b) << (strided ? " strided" : ""));
          auto [va, vb] = operand_values(op, numel_of(sp.a), numel_of(sp.b), seed += 3);
          std::vector<float> want =
              ref_binary(op, make(va, sp.a, dt, Device::cpu()), make(vb, sp.b, dt, Device::cpu()));
          const Tol t = is_comparison(op) ? Tol{0, 0} : tol(dt);
          for (Device dev : test_devices()) {
            SCOPED_TRACE(dev.str());
            Tensor got = binary(op, make(va, sp.a, dt, dev, strided), make(vb, sp.b, dt, dev, !strided));
            EXPECT_EQ(got.shape(), broadcast(sp.a, sp.b));
            EXPECT_EQ(got.dtype(), is_comparison(op) ? DType::u8 : dt);
            EXPECT_EQ(got.device(), dev);
            EXPECT_CLOSE(got, want, t);
          }
        }
      }
    }
  }
}

// Large enough for several workgroups; odd sizes leave a tail after the 4-wide part, offset views are unaligned.
TEST(Elementwise, ContiguousPathTailsAndUnalignedViews) {
  for (DType dt : kFloatTypes) {
    for (int64_t n : {int64_t(4), int64_t(1031), int64_t(4099)}) {
      for (BinaryOp op : {BinaryOp::mul, BinaryOp::lt}) {
        auto [va, vb] = operand_values(op, n, n, uint64_t(n));
        std::vector<float> want = ref_binary(op, make(va, {n}, dt, Device::cpu()), make(vb, {n}, dt, Device::cpu()));
        for (Device dev : test_devices()) {
          for (bool offset : {false, true}) {
            SCOPED_TRACE(::testing::Message() << op_name(op) << " " << dtype_name(dt) << " n=" << n << " " << dev.str()
                                              << (offset ? " offset" : ""));
            Tensor got = binary(op, make(va, {n}, dt, dev, offset), make(vb, {n}, dt, dev));
            EXPECT_CLOSE(got, want, is_comparison(op) ? Tol{0, 0} : tol(dt));
          }
        }
      }
      const std::vector<float> v = uniform(n, 3, -8, 8);
      std::vector<float> want = make(v, {n}, dt, Device::cpu()).to_f32();
      for (float& w : want) w = float(ref_unary(UnaryOp::silu, w));
      for (Device dev : test_devices())
        for (bool offset : {false, true}) EXPECT_CLOSE(silu(make(v, {n}, dt, dev, offset)), want, tol(dt));
    }
  }
}

TEST(Elementwise, BinaryIntegerWrapsAndFloorDivides) {
  for (DType dt : kIntTypes) {
    // Ranges that overflow each dtype under add / mul, with zeros and negative divisors.
    const int64_t lim = dt == DType::i64 ? (int64_t(1) << 62) : dt == DType::i32 ? (int64_t(1) << 31) : 128;
    const int64_t lo = dt == DType::u8 ? 0 : -lim, hi = dt == DType::u8 ? 256 : lim;
    for (BinaryOp op : kAllBinary) {
      if (op == BinaryOp::pow) continue;
      for (const ShapePair& sp : {ShapePair{{4, 9}, {4, 9}}, ShapePair{{3, 1, 5}, {4, 1}}, ShapePair{{0, 3}, {3}}}) {
        SCOPED_TRACE(::testing::Message()
                     << op_name(op) << " " << dtype_name(dt) << " " << shape_str(sp.a) << " " << shape_str(sp.b));
        Tensor a = randint(sp.a, lo, hi, dt, Device::cpu(), 1);
        // Small divisors (zero and -1 included) make floor division and its edge cases visible.
        Tensor b = op == BinaryOp::div ? randint(sp.b, dt == DType::u8 ? 0 : -6, 7, dt, Device::cpu(), 2)
                                       : randint(sp.b, lo, hi, dt, Device::cpu(), 2);
        const std::vector<int64_t> want = ref_binary_int(op, a, b);
        for (Device dev : test_devices()) {
          SCOPED_TRACE(dev.str());
          Tensor got = binary(op, a.to(dev).transpose(0, 1).contiguous().transpose(0, 1), b.to(dev));
          EXPECT_EQ(got.dtype(), is_comparison(op) ? DType::u8 : dt);
          EXPECT_EQ(int_values(got), want);
        }
      }
    }
  }
  // The two traps of integer division are defined: x / 0 = 0 and INT_MIN / -1 wraps.
  for (Device dev : test_devices()) {
    Tensor a = Tensor::from_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 7, -7, 7, -7}, {5},
                                   DType::i64, dev);
    Tensor b = Tensor::from_vector(std::vector<int64_t>{-1, 0, 2, -2, -2}, {5}, DType::i64, dev);
    EXPECT_EQ(int_values(div(a, b)), (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 0, -4, -4, 3}));
  }
}

TEST(Elementwise, ScalarOverloadsAndOperators) {
  for (DType dt : kFloatTypes) {
    std::vector<float> v = uniform(35, 5, 0.5f, 3);
    Tensor host = make(v, {5, 7}, dt, Device::cpu());
    const std::vector<float> x = host.to_f32();
    auto want = [&](auto f) {
      std::vector<float> r(x.size());
      for (size_t i = 0; i < x.size(); ++i) r[i] = float(f(double(x[i])));
      return r;
    };
    for (Device dev : test_devices()) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " " << dev.str());
      Tensor a = make(v, {5, 7}, dt, dev, true);
      EXPECT_CLOSE(add(a, 1.25), want([](double x) { return x + 1.25; }), tol(dt));
      EXPECT_CLOSE(a - 0.5, want([](double x) { return x - 0.5; }), tol(dt));
      EXPECT_CLOSE(a * -3.0, want([](double x) { return x * -3; }), tol(dt));
      EXPECT_CLOSE(a / 4.0, want([](double x) { return x / 4; }), tol(dt));
      EXPECT_CLOSE(pow(a, 2.5), want([](double x) { return std::pow(x, 2.5); }), tol(dt));
      EXPECT_CLOSE(pow(a, -1.0), want([](double x) { return 1 / x; }), tol(dt));
      EXPECT_CLOSE(binary(BinaryOp::ge, a, 1.5), want([](double x) { return x >= double(float(1.5)); }), Tol{0, 0});
      EXPECT_CLOSE(a + a, want([](double x) { return x + x; }), tol(dt));
      EXPECT_CLOSE(a - a * a, want([](double x) { return x - x * x; }), tol(dt));
      EXPECT_CLOSE(a / a, want([](double) { return 1; }), tol(dt));
      EXPECT_CLOSE(-a, want([](double x) { return -x; }), tol(dt));
    }
  }
  for (DType dt : kIntTypes) {
    for (Device dev : test_devices()) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " " << dev.str());
      Tensor a = Tensor::from_vector(std::vector<int64_t>{0, 1, 5, 100, 127}, {5}, DType::i64, dev).to(dt);
      EXPECT_EQ(int_values(a + 3.0), (std::vector<int64_t>{3, 4, 8, 103, narrow(130, dt)}));
      EXPECT_EQ(int_values(a * 2.0), (std::vector<int64_t>{0, 2, 10, narrow(200, dt), narrow(254, dt)}));
      EXPECT_EQ(int_values(a / 2.0), (std::vector<int64_t>{0, 0, 2, 50, 63}));
      EXPECT_EQ(int_values(a - 1.0), (std::vector<int64_t>{narrow(-1, dt), 0, 4, 99, 126}));
      EXPECT_GLINT_ERROR(add(a, 2.5), "[add] scalar 2.5 is not an integer representable in");
      EXPECT_GLINT_ERROR(mul(a, 1e30), "[mul] scalar");
      EXPECT_GLINT_ERROR(pow(a, 2.0), "[pow] unsupported dtype");
    }
  }
  const Device cpu = Device::cpu();
  EXPECT_GLINT_ERROR(add(zeros({2}, DType::u8, cpu), 256.0), "[add] scalar 256 is not an integer representable in u8");
  EXPECT_GLINT_ERROR(sub(zeros({2}, DType::i8, cpu), -129.0), "[sub] scalar");
}

TEST(Elementwise, SpecialValues) {
  const std::vector<float> x = {kNaN, 1, kNaN, -kInf, 2, 0, -0.f};
  const std::vector<float> y = {1, kNaN, kNaN, 3, kInf, -0.f, 0};
  const std::vector<float> bases = {-2, -2, -0.5f, 0, 0, 2, kNaN, 1, kInf, 4};
  const std::vector<float> exps = {3, 2, 0.5f, 2, -1, 0, 0, kNaN, -1, 0.5f};
  for (DType dt : kFloatTypes) {
    for (Device dev : test_devices()) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " " << dev.str());
      Tensor a = make(x, {7}, dt, dev), b = make(y, {7}, dt, dev);
      EXPECT_CLOSE(maximum(a, b), (std::vector<float>{kNaN, kNaN, kNaN, 3, kInf, 0, 0}), Tol{0, 0});
      EXPECT_CLOSE(minimum(a, b), (std::vector<float>{kNaN, kNaN, kNaN, -kInf, 2, 0, 0}), Tol{0, 0});
      EXPECT_CLOSE(eq(a, b), (std::vector<float>{0, 0, 0, 0, 0, 1, 1}), Tol{0, 0});
      EXPECT_CLOSE(ne(a, b), (std::vector<float>{1, 1, 1, 1, 1, 0, 0}), Tol{0, 0});
      EXPECT_CLOSE(le(a, b), (std::vector<float>{0, 0, 0, 1, 1, 1, 1}), Tol{0, 0});
      EXPECT_CLOSE(pow(make(bases, {10}, dt, dev), make(exps, {10}, dt, dev)),
                   (std::vector<float>{-8, 4, kNaN, 0, kInf, 1, 1, 1, 0, 2}), tol(dt));
      Tensor s = make({kNaN, -kInf, kInf, -100, 100, 0, -1}, {7}, dt, dev);
      EXPECT_CLOSE(relu(s), (std::vector<float>{kNaN, 0, kInf, 0, 100, 0, 0}), Tol{0, 0});
      EXPECT_CLOSE(tanh(s), (std::vector<float>{kNaN, -1, 1, -1, 1, 0, float(std::tanh(-1.0))}), tol(dt));
      EXPECT_CLOSE(sigmoid(s), (std::vector<float>{kNaN, 0, 1, 0, 1, 0.5f, float(1 / (1 + std::exp(1.0)))}), tol(dt));
      EXPECT_CLOSE(exp(s), (std::vector<float>{kNaN, 0, kInf, 0, kInf, 1, float(std::exp(-1.0))}), tol(dt));
      EXPECT_CLOSE(log(s), (std::vector<float>{kNaN, kNaN, kInf, kNaN, float(std::log(100.0)), -kInf, kNaN}), tol(dt));
      EXPECT_CLOSE(clamp(s, -1.0, 1.0), (std::vector<float>{kNaN, -1, 1, -1, 1, 0, -1}), Tol{0, 0});
      EXPECT_CLOSE(gelu(s),
                   (std::vector<float>{kNaN, kNaN, kInf, 0, 100, 0, float(-0.5 * std::erfc(1 / std::sqrt(2.0)))}),
                   tol(dt));
    }
  }
}

// ---- unary ----

// f32 division is correctly rounded on every device, as torch's is: Vulkan allows 2.5 units in the last place,
// which NVIDIA's driver uses, so the kernel corrects it (an ill-conditioned scheduler step amplified the difference).
TEST(Elementwise, F32DivisionIsCorrectlyRounded) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mant(1.f, 2.f);
  std::uniform_int_distribution<int> expo(-60, 60), sign(0, 1);
  std::vector<float> x(4099), y(4099);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = std::ldexp(mant(rng), expo(rng)) * (sign(rng) ? -1.f : 1.f);
    y[i] = std::ldexp(mant(rng), expo(rng) / 2);
  }
  const Tensor a = Tensor::from_vector(x, {4099}, DType::f32, Device::cpu());
  const Tensor b = Tensor::from_vector(y, {4099}, DType::f32, Device::cpu());
  std::vector<float> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = x[i] / y[i];
  for (Device dev : test_devices()) {
    SCOPED_TRACE(dev.str());
    EXPECT_CLOSE(a.to(dev) / b.to(dev), want, Tol{0, 0});
    EXPECT_CLOSE(a.to(dev) / 3.0, (a / 3.0).to_f32(), Tol{0, 0});
  }
}

TEST(Elementwise, UnaryFloatEveryOpAndDtype) {
  constexpr UnaryOp kOps[] = {UnaryOp::neg,  UnaryOp::abs,   UnaryOp::exp,       UnaryOp::log,
                              UnaryOp::sqrt, UnaryOp::rsqrt, UnaryOp::tanh,      UnaryOp::sigmoid,
                              UnaryOp::silu, UnaryOp::gelu,  UnaryOp::gelu_tanh, UnaryOp::relu};
  for (DType dt : kFloatTypes) {
    for (UnaryOp op : kOps) {
      for (const Shape& shape : {Shape{6, 11}, Shape{3, 1, 7}, Shape{}, Shape{0, 4}, Shape{1}}) {
        auto [lo, hi] = unary_range(op);
        const std::vector<float> v = uniform(numel_of(shape), uint64_t(op) + 7, lo, hi);
        std::vector<float> want = make(v, shape, dt, Device::cpu()).to_f32();
        for (float& w : want) w = float(ref_unary(op, w));
        for (Device dev : test_devices()) {
          for (bool strided : {false, true}) {
            SCOPED_TRACE(::testing::Message() << op_name(op) << " " << dtype_name(dt) << " " << shape_str(shape) << " "
                                              << dev.str() << (strided ? " strided" : ""));
            Tensor got = unary(op, make(v, shape, dt, dev, strided));
            EXPECT_EQ(got.shape(), shape);
            EXPECT_EQ(got.dtype(), dt);
            EXPECT_CLOSE(got, want, tol(dt));
          }
        }
      }
    }
  }
}

TEST(Elementwise, ClampAndIntegerUnary) {
  const std::vector<float> v = uniform(30, 9, -3, 3);
  using Bound = std::optional<double>;
  const std::pair<Bound, Bound> bounds[] = {
      {-1.0, 1.5}, {0.25, std::nullopt}, {std::nullopt, -0.5}, {std::nullopt, std::nullopt}};
  for (DType dt : kFloatTypes) {
    const std::vector<float> x = make(v, {5, 6}, dt, Device::cpu()).to_f32();
    for (auto [lo, hi] : bounds) {
      std::vector<float> want(x);
      for (float& w : want) w = std::min<float>(std::max<float>(w, lo ? float(*lo) : -kInf), hi ? float(*hi) : kInf);
      for (Device dev : test_devices()) EXPECT_CLOSE(clamp(make(v, {5, 6}, dt, dev, true), lo, hi), want, tol(dt));
    }
  }
  for (DType dt : kIntTypes) {
    const int64_t lo = dt == DType::u8 ? 0 : dt == DType::i8 ? -128 : -1000, hi = dt == DType::u8 ? 256 : -lo;
    Tensor a = randint({4, 7}, lo, hi, dt, Device::cpu(), 4);
    if (dt != DType::u8) a.slice(1, 0, 1).copy_from(full({4, 1}, double(lo), dt, Device::cpu()));  // most negative
    const std::vector<int64_t> x = int_values(a);
    auto want = [&](auto f) {
      std::vector<int64_t> r;
      for (int64_t e : x) r.push_back(narrow(f(e), dt));
      return r;
    };
    for (Device dev : test_devices()) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " " << dev.str());
      Tensor t = a.to(dev).transpose(0, 1).contiguous().transpose(0, 1);
      EXPECT_EQ(int_values(neg(t)), want([](int64_t e) { return -e; }));
      EXPECT_EQ(int_values(abs(t)), want([](int64_t e) { return e < 0 ? -e : e; }));
      EXPECT_EQ(int_values(relu(t)), want([](int64_t e) { return std::max<int64_t>(e, 0); }));
      EXPECT_EQ(int_values(clamp(t, -5.0, 100.0)), want([](int64_t e) { return std::clamp<int64_t>(e, -5, 100); }));
      EXPECT_EQ(int_values(clamp(t, std::nullopt, 1e300)), x);  // beyond every range: limits nothing
      EXPECT_GLINT_ERROR(clamp(t, 0.5, std::nullopt), "[clamp] bound 0.5 is not an integer");
      EXPECT_GLINT_ERROR(exp(t), "[exp] unsupported dtype");
    }
  }
  EXPECT_GLINT_ERROR(clamp(zeros({2}, DType::f32, Device::cpu()), NAN, 1.0), "[clamp] bound is NaN");
  EXPECT_GLINT_ERROR(unary(UnaryOp::clamp, zeros({2}, DType::f32, Device::cpu())), "[clamp]");
}

// ---- where ----

TEST(Elementwise, WhereEveryDtypeBroadcastAndCondition) {
  const Shape sc{3, 1, 5}, sa{1, 4, 5}, sb{5}, out{3, 4, 5};
  const std::vector<float> vc = uniform(numel_of(sc), 1, -1, 1);
  // Values that every dtype holds (u8 and i8 included), so each conversion is defined.
  const std::vector<float> va = uniform(numel_of(sa), 2, 0, 100), vb = uniform(numel_of(sb), 3, 0, 100);
  for (DType dt : kAllDTypes) {
    for (DType ct : {DType::u8, DType::f32, DType::bf16, DType::i64}) {
      // Conditions of every sign, zero included (-0.0 too for floats).
      std::vector<float> cv = vc;
      for (size_t i = 0; i < cv.size(); i += 4) cv[i] = i % 8 == 0 ? 0.f : -0.f;
      if (ct == DType::u8)
        for (float& c : cv) c = c > 0 ? 7 : 0;  // any nonzero is true
      const Tensor ch = make(cv, sc, ct, Device::cpu()), ah = make(va, sa, dt, Device::cpu()),
                   bh = make(vb, sb, dt, Device::cpu());
      const std::vector<float> c = ch.to_f32(), a = ah.to_f32(), b = bh.to_f32();
      std::vector<float> want(size_t(numel_of(out)));
      for (int64_t i = 0; i < numel_of(out); ++i)
        want[i] = c[source_index(out, sc, i)] != 0 ? a[source_index(out, sa, i)] : b[source_index(out, sb, i)];
      for (Device dev : test_devices()) {
        SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " cond " << dtype_name(ct) << " " << dev.str());
        Tensor got = where(make(cv, sc, ct, dev, true), make(va, sa, dt, dev, true), make(vb, sb, dt, dev));
        EXPECT_EQ(got.shape(), out);
        EXPECT_EQ(got.dtype(), dt);
        EXPECT_CLOSE(got, want, Tol{0, 0});
      }
    }
  }
  // NaN is a true condition; six dims whose strides cannot merge take the contiguous fallback on Vulkan.
  const Shape s6{2, 3, 2, 3, 2, 3}, c6{2, 1, 2, 1, 2, 1};
  const std::vector<float> cv6 = {kNaN, 0, 0, 1, 1, 0, 0, 0};
  const std::vector<float> a6 = uniform(numel_of(s6), 4, -1, 1);
  std::vector<float> want(a6.size());
  for (int64_t i = 0; i < numel_of(s6); ++i) want[i] = cv6[source_index(s6, c6, i)] != 0 ? a6[i] : -5.f;
  for (Device dev : test_devices()) {
    Tensor a = make(a6, s6, DType::f32, dev).permute({0, 1, 2, 3, 5, 4}).contiguous().permute({0, 1, 2, 3, 5, 4});
    EXPECT_CLOSE(where(make(cv6, c6, DType::f32, dev), a, full({1}, -5, DType::f32, dev)), want, Tol{0, 0});
  }
}

// ---- errors ----

TEST(Elementwise, Errors) {
  const Device cpu = Device::cpu();  // explicit: the default device may be a GPU
  Tensor a = zeros({2, 3}, DType::f32, cpu), b = zeros({4, 3}, DType::f32, cpu);
  EXPECT_GLINT_ERROR(add(a, b), "[add] shapes (2,3) and (4,3) do not broadcast");
  EXPECT_GLINT_ERROR(mul(a, zeros({2, 3}, DType::f16, cpu)), "[mul] dtype mismatch: f32 and f16");
  EXPECT_GLINT_ERROR(lt(zeros({0, 2}, DType::f32, cpu), zeros({3}, DType::f32, cpu)),
                     "[lt] shapes (0,2) and (3) do not broadcast");
  EXPECT_GLINT_ERROR(add(a, Tensor()), "[add] undefined input tensor");
  EXPECT_GLINT_ERROR(pow(zeros({2}, DType::i32, cpu), zeros({2}, DType::i32, cpu)), "[pow] unsupported dtype i32");
  EXPECT_GLINT_ERROR(gelu(zeros({2}, DType::u8, cpu)), "[gelu] unsupported dtype u8");
  EXPECT_GLINT_ERROR(where(zeros({2}, DType::u8, cpu), a, zeros({2, 3}, DType::i32, cpu)),
                     "[where] dtype mismatch: f32 and i32");
  EXPECT_GLINT_ERROR(where(zeros({5}, DType::u8, cpu), a, a), "[where] shapes (5) and (2,3) do not broadcast");
  for (Device dev : vulkan_devices()) {
    EXPECT_GLINT_ERROR(sub(a, zeros({2, 3}, DType::f32, dev)),
                       "[sub] tensors on different devices: cpu and " + dev.str());
    EXPECT_GLINT_ERROR(where(zeros({1}, DType::u8, dev), a, a), "[where] tensors on different devices");
  }
}

}  // namespace
}  // namespace glint::test
