// f32 math for the CPU kernels written without calls or branches, so that loops calling it vectorise (libm's expf
// is a call per element, which keeps silu, softmax and the cross-entropy rows scalar). Only +, -, *, compares and
// integer bit operations, never fused multiply-adds: the result is the same bit for bit whatever vector width or
// x86 level the compiler picks, so a kernel cloned for AVX2 and its portable clone agree exactly.
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>
#include <initializer_list>

namespace glint::cpu {

// e^x within 1.01 ulp of the exact value, one step at most from libm's, over the whole f32 range
// (tests/ops/test_vec_math.cpp sweeps it): NaN stays NaN, e^-inf = 0, e^inf = inf, subnormal results rounded once.
//
// x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (Cody-Waite: n * kLn2Hi is exact, so r keeps its bits);
// e^r by a degree-7 Taylor polynomial (truncation 5e-9 relative, under 0.05 ulp); 2^n applied as two halves,
// 2^(n/2) * 2^(n - n/2), each a normal power of two, so the only rounding is the last product's, which is also what
// makes subnormal results and the overflow to inf come out right.
inline float exp_f32(float x) {
  // Clamp x to [-104, 89] so that n stays in [-150, 128], on the bit pattern: GCC does not if-convert float
  // compares under the default -ftrapping-math, so a float clamp would keep the loop scalar. A NaN (magnitude bits
  // above inf's) is left alone and flows through the arithmetic unchanged.
  const int32_t bits = std::bit_cast<int32_t>(x), mag = bits & 0x7fffffff;
  const int32_t limit = bits < 0 ? std::bit_cast<int32_t>(104.f) : std::bit_cast<int32_t>(89.f);
  x = std::bit_cast<float>((mag > limit && mag <= 0x7f800000 ? limit : mag) | (bits & int32_t(0x80000000)));
  constexpr float kShift = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;        // 355 / 512: 9 significant bits, so n * kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;     // ln 2 - kLn2Hi
  const float big = x * kLog2e + kShift;
  const float n = big - kShift;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float q = 1.f / 5040;
#pragma GCC unroll 8  // unrolled completely, as the erf polynomials below, so that callers' loops vectorise
  for (float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 1.f / 2}) q = q * r + c;
  const float p = (r * r * q + r) + 1.f;
  const int32_t ni = std::bit_cast<int32_t>(big) - std::bit_cast<int32_t>(kShift);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  return p * std::bit_cast<float>((n1 + 127) << 23) * std::bit_cast<float>((n2 + 127) << 23);
}

// erf(x) within 1.3 ulp of the exact value, one step at most from libm's, over the whole f32 range
// (tests/ops/test_vec_math.cpp sweeps it), erf(+-inf) = +-1, NaN stays NaN. Both pieces are computed and one is
// picked per lane:
//   |x| < 1:  x + x * P(x^2), P a degree-7 fit of erf(a) / a - 1 in a^2 (adding x last keeps P's rounding small);
//   |x| >= 1: 1 - e^(-x^2) * Q(|x| - 2.5), Q a degree-12 fit of erfc(a) e^(a^2) on [1, 4] (|x| clamped to 4, where
//             erf already rounds to 1).
// The coefficients are least-squares fits of relative error on Chebyshev nodes, rounded to f32 one at a time with
// the rest refitted (tools/fit_vec_math.py).
inline float erf_f32(float x) {
  const int32_t bits = std::bit_cast<int32_t>(x), mag = bits & 0x7fffffff, sign = bits & int32_t(0x80000000);
  const float a = std::bit_cast<float>(mag), t = a * a;
  float p = -0x1.2307bcp-17f;
#pragma GCC unroll 16
  for (float c : {0x1.c8c8b0p-14f, -0x1.b9d556p-11f, 0x1.55e0eep-8f, -0x1.b82232p-6f, 0x1.ce2ea2p-4f, -0x1.812744p-2f,
                  0x1.06eba8p-3f})
    p = p * t + c;
  const float small = a + a * p;
  // |x| clamped to 4 on the bit pattern (a NaN's large piece is garbage, discarded below).
  constexpr int32_t kFour = 0x40800000;
  const float b = std::bit_cast<float>(std::min(mag, kFour)), s = b - 2.5f;
  float q = 0x1.d4d5e2p-24f;
#pragma GCC unroll 16
  for (float c : {-0x1.c57aaep-22f, 0x1.f0d61cp-21f, -0x1.fa6486p-19f, 0x1.1115e2p-16f, -0x1.f2d496p-15f,
                  0x1.b9ccbep-13f, -0x1.8069dap-11f, 0x1.436358p-9f, -0x1.0632ep-7f, 0x1.989546p-6f, -0x1.3086d6p-4f,
                  0x1.afbb4p-3f})
    q = q * s + c;
  const float large = 1.f - exp_f32(-(b * b)) * q;
  // The small piece below 1 and for NaN (which it carries through), the large one from 1 up, picked with a mask:
  // a conditional here gets jump-threaded into branches that keep callers' loops from vectorising.
  const int32_t small_lanes = -int32_t((mag < 0x3f800000) | (mag > 0x7f800000));
  const int32_t r = (std::bit_cast<int32_t>(small) & small_lanes) | (std::bit_cast<int32_t>(large) & ~small_lanes);
  return std::bit_cast<float>(r | sign);
}

// The logistic function 1 / (1 + e^-x), as torch writes it.
inline float sigmoid_f32(float x) { return 1.f / (1.f + exp_f32(-x)); }

}  // namespace glint::cpu
