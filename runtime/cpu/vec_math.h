// f32 math for the CPU kernels written without calls or branches, so that loops calling it vectorise (libm's expf
// is a call per element, which keeps silu, softmax and the cross-entropy rows scalar). Only +, -, *, compares and
// integer bit operations, never fused multiply-adds: the result is the same bit for bit whatever vector width or
// x86 level the compiler picks, so a kernel cloned for AVX2 and its portable clone agree exactly.
#pragma once
#include <bit>
#include <cstdint>
#include <initializer_list>

namespace glint::cpu {

// e^x within 1 ulp of the correctly rounded result over the whole f32 range (tests/ops/test_vec_math.cpp sweeps
// it): NaN stays NaN, e^-inf = 0, e^inf = inf, subnormal results rounded once.
//
// x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (Cody-Waite: n * kLn2Hi is exact, so r keeps its bits);
// e^r by a degree-7 Taylor polynomial (truncation 5e-9 relative, under 0.05 ulp); 2^n applied as two halves,
// 2^(n/2) * 2^(n - n/2), each a normal power of two, so the only rounding is the last product's, which is also what
// makes subnormal results and the overflow to inf come out right.
inline float exp_f32(float x) {
  // The clamp keeps n in [-151, 129]; a NaN fails both compares and flows through the arithmetic unchanged.
  x = x < -104.f ? -104.f : x;
  x = x > 89.f ? 89.f : x;
  constexpr float kShift = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;        // 355 / 512: 9 significant bits, so n * kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;     // ln 2 - kLn2Hi
  const float big = x * kLog2e + kShift;
  const float n = big - kShift;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float q = 1.f / 5040;
  for (float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 1.f / 2}) q = q * r + c;
  const float p = (r * r * q + r) + 1.f;
  const int32_t ni = std::bit_cast<int32_t>(big) - std::bit_cast<int32_t>(kShift);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  return p * std::bit_cast<float>((n1 + 127) << 23) * std::bit_cast<float>((n2 + 127) << 23);
}

// The logistic function 1 / (1 + e^-x), as torch writes it.
inline float sigmoid_f32(float x) { return 1.f / (1.f + exp_f32(-x)); }

}  // namespace glint::cpu
