// The CPU kernels' branch-free e^x and erf (runtime/cpu/vec_math.h) against double-precision libm over a sweep of
// every f32 bit pattern (a fixed stride through all 2^32, so every binade and both signs are hit), plus the special
// values one by one; and the exp and gelu ops' CPU kernels use them bit for bit.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numbers>

#include "runtime/cpu/vec_math.h"
#include "runtime/ops/elementwise.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

using cpu::erf_f32;
using cpu::exp_f32;

// |got - want| in units of the f32 spacing at want (the subnormal spacing below 2^-126).
double ulp_error(double want, float got) {
  if (std::isinf(got)) return want > double(std::numeric_limits<float>::max()) ? 0.0 : INFINITY;
  int e = 0;
  std::frexp(want, &e);
  const double ulp = std::fabs(want) < 0x1p-126 ? 0x1p-149 : std::ldexp(1.0, e - 24);
  return std::fabs(double(got) - want) / ulp;
}
double exp_ulp_error(float x) { return ulp_error(std::exp(double(x)), exp_f32(x)); }

// Steps between two floats of the same sign along the f32 grid.
int64_t steps_apart(float a, float b) {
  return std::abs(int64_t(std::bit_cast<int32_t>(a)) - int64_t(std::bit_cast<int32_t>(b)));
}

TEST(VecMath, ExpWithinOneUlpOverTheWholeRange) {
  double worst = 0;
  float worst_x = 0;
  uint32_t over = 0;
  // 2^32 / 509 ~ 8.4M points; the stride is odd, so the low mantissa bits take every value as well.
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 509) {
    const float x = std::bit_cast<float>(uint32_t(bits));
    const float got = exp_f32(x);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(got)) << "x bits " << bits;
      continue;
    }
    over += steps_apart(got, std::exp(x)) > 1;
    const double err = exp_ulp_error(x);
    if (err > worst) worst = err, worst_x = x;
  }
  EXPECT_EQ(over, 0u);
  // Measured 1.0076 ulp over a sweep of 330M points (stride 13); the bound leaves no room for a real regression.
  EXPECT_LT(worst, 1.01) << "at x = " << worst_x;
}

TEST(VecMath, ExpSpecialValues) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(exp_f32(-std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(exp_f32(inf), inf);
  EXPECT_EQ(exp_f32(-inf), 0.f);
  EXPECT_EQ(exp_f32(std::numeric_limits<float>::max()), inf);
  EXPECT_EQ(exp_f32(-std::numeric_limits<float>::max()), 0.f);
  EXPECT_EQ(exp_f32(0.f), 1.f);
  EXPECT_EQ(exp_f32(-0.f), 1.f);
  EXPECT_EQ(exp_f32(std::numeric_limits<float>::denorm_min()), 1.f);
  EXPECT_EQ(exp_f32(-std::numeric_limits<float>::denorm_min()), 1.f);
  // The last finite result, the first overflow, and the subnormal tail down to the last nonzero result.
  const float last_finite = 88.7228317f, first_inf = 88.7228394f;
  EXPECT_TRUE(std::isfinite(exp_f32(last_finite)));
  EXPECT_LT(exp_ulp_error(last_finite), 1.01);
  EXPECT_EQ(exp_f32(first_inf), inf);
  for (float x = -87.f; x > -104.f; x -= 0.0173f) EXPECT_LE(exp_ulp_error(x), 1.0) << "x = " << x;
  EXPECT_GT(exp_f32(-103.2f), 0.f);
  EXPECT_EQ(exp_f32(-104.f), 0.f);
}

TEST(VecMath, ErfWithinOnePointThreeUlpOverTheWholeRange) {
  double worst = 0;
  float worst_x = 0;
  uint32_t over = 0;
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 509) {
    const float x = std::bit_cast<float>(uint32_t(bits));
    const float got = erf_f32(x);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(got)) << "x bits " << bits;
      continue;
    }
    over += steps_apart(got, std::erf(x)) > 1;
    const double err = ulp_error(std::erf(double(x)), got);
    if (err > worst) worst = err, worst_x = x;
  }
  EXPECT_EQ(over, 0u);
  // Measured 1.254 ulp over a sweep of 610M points (stride 7), the worst just below |x| = 1 where the pieces meet.
  EXPECT_LT(worst, 1.3) << "at x = " << worst_x;
}

TEST(VecMath, ErfSpecialValues) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isnan(erf_f32(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(erf_f32(inf), 1.f);
  EXPECT_EQ(erf_f32(-inf), -1.f);
  EXPECT_EQ(erf_f32(4.f), 1.f);
  EXPECT_EQ(erf_f32(-1e30f), -1.f);
  EXPECT_EQ(std::bit_cast<uint32_t>(erf_f32(0.f)), 0u);
  EXPECT_TRUE(std::signbit(erf_f32(-0.f)));
  const float tiny = std::numeric_limits<float>::denorm_min() * 1000;
  EXPECT_LE(ulp_error(std::erf(double(tiny)), erf_f32(tiny)), 1.0);
  // Both sides of the switch between the two pieces.
  for (float x : {std::nextafter(1.f, 0.f), 1.f, std::nextafter(1.f, 2.f)}) {
    EXPECT_LT(ulp_error(std::erf(double(x)), erf_f32(x)), 1.3) << "x = " << x;
    EXPECT_EQ(erf_f32(-x), -erf_f32(x));
  }
}

TEST(VecMath, GeluOpKernelUsesErf) {
  const Tensor x = rand({3, 129}, DType::f32, Device::cpu(), 8, -6.f, 6.f);
  const std::vector<float> in = x.to_f32(), got = gelu(x).to_f32();
  for (size_t i = 0; i < in.size(); ++i) {
    const float want = in[i] * 0.5f * (1.0f + erf_f32(in[i] * float(std::numbers::sqrt2 / 2)));
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want)) << "x = " << in[i];
  }
}

TEST(VecMath, ExpOpKernelUsesIt) {
  const Tensor x = rand({4, 257}, DType::f32, Device::cpu(), 7, -100.f, 90.f);
  const std::vector<float> in = x.to_f32(), got = exp(x).to_f32();
  for (size_t i = 0; i < in.size(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(exp_f32(in[i]))) << "x = " << in[i];
}

}  // namespace
}  // namespace glint::test
