// The CPU kernels' branch-free e^x (runtime/cpu/vec_math.h) against libm over a sweep of every f32 bit pattern
// (a fixed stride through all 2^32, so every binade and both signs are hit), plus the special values one by one;
// and the exp op's CPU kernel uses it bit for bit.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "runtime/cpu/vec_math.h"
#include "runtime/ops/elementwise.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

using cpu::exp_f32;

// |got - e^x| in units of the f32 spacing at e^x (the subnormal spacing below 2^-126), e^x taken in double.
double ulp_error(float x, float got) {
  const double want = std::exp(double(x));
  if (std::isinf(got)) return want > double(std::numeric_limits<float>::max()) ? 0.0 : INFINITY;
  int e = 0;
  std::frexp(want, &e);
  const double ulp = want < 0x1p-126 ? 0x1p-149 : std::ldexp(1.0, e - 24);
  return std::fabs(double(got) - want) / ulp;
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
    // As libm's result: one step apart at most (both are non-negative, so the bit patterns order them).
    const int64_t steps = int64_t(std::bit_cast<uint32_t>(got)) - int64_t(std::bit_cast<uint32_t>(std::exp(x)));
    over += steps > 1 || steps < -1;
    const double err = ulp_error(x, got);
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
  EXPECT_LT(ulp_error(last_finite, exp_f32(last_finite)), 1.01);
  EXPECT_EQ(exp_f32(first_inf), inf);
  for (float x = -87.f; x > -104.f; x -= 0.0173f) EXPECT_LE(ulp_error(x, exp_f32(x)), 1.0) << "x = " << x;
  EXPECT_GT(exp_f32(-103.2f), 0.f);
  EXPECT_EQ(exp_f32(-104.f), 0.f);
}

TEST(VecMath, ExpOpKernelUsesIt) {
  const Tensor x = rand({4, 257}, DType::f32, Device::cpu(), 7, -100.f, 90.f);
  const std::vector<float> in = x.to_f32(), got = exp(x).to_f32();
  for (size_t i = 0; i < in.size(); ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(exp_f32(in[i]))) << "x = " << in[i];
}

}  // namespace
}  // namespace glint::test
