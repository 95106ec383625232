// f32 math for the elementwise and rope kernels, accurate to a few ulp on every driver.
// GLSL's built-in exp/log/tanh/sin/cos only promise absolute errors (2^-11 for sin/cos in [-pi, pi], nothing
// outside it; tanh may overflow to NaN), and real GPUs use fast approximations; torch's CPU and CUDA kernels are
// within ~1 ulp. Each function here is an exact range reduction plus a short polynomial, so results match across
// drivers and stay close to torch. Vulkan allows fma() to round twice, so no reduction relies on a fused one.
// Max errors were measured against double over the whole f32 range, with fused and with unfused fma.

// Functions, not constants: glslang does not fold uintBitsToFloat in a const initializer.
float inf_f() { return uintBitsToFloat(0x7f800000u); }
float nan_f() { return uintBitsToFloat(0x7fc00000u); }
// ln 2 split so that k * kLn2Hi is exact for |k| < 2^8 (kLn2Hi has 16 significant bits), fma or not.
const float kLn2Hi = 0.693145752f;
const float kLn2Lo = 1.42860677e-6f;

// exp(x) = 2^k exp(r), k = round(x / ln 2), |r| <= ln2 / 2; Taylor to r^7 (truncation < 2^-27). Max error ~1 ulp.
float exp_f(float x) {
  if (isnan(x)) return x;
  if (x > 88.7228394f) return inf_f();
  if (x < -103.972084f) return 0.0;
  float k = roundEven(x * 1.44269504f);
  float r = fma(k, -kLn2Hi, x);
  r = fma(k, -kLn2Lo, r);
  float p = fma(r, 1.0 / 5040.0, 1.0 / 720.0);
  p = fma(p, r, 1.0 / 120.0);
  p = fma(p, r, 1.0 / 24.0);
  p = fma(p, r, 1.0 / 6.0);
  p = fma(p, r, 0.5);
  p = fma(p, r, 1.0);
  p = fma(p, r, 1.0);
  // Two steps: 2^k alone overflows for k = 128, where the product does not.
  int ki = int(k);
  return ldexp(ldexp(p, ki / 2), ki - ki / 2);
}

// log(x) = e ln 2 + log(m), m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172,
// odd series to s^11 (truncation < 2^-33). Max error ~2 ulp.
float log_f(float x) {
  if (!(x > 0.0)) return x == 0.0 ? -inf_f() : nan_f();
  if (isinf(x)) return x;
  int e;
  float m = frexp(x, e);
  if (m < 0.707106781f) {
    m *= 2.0;
    e -= 1;
  }
  float f = m - 1.0;
  float s = f / (2.0 + f);
  float z = s * s;
  float p = fma(z, 2.0 / 11.0, 2.0 / 9.0);
  p = fma(p, z, 2.0 / 7.0);
  p = fma(p, z, 2.0 / 5.0);
  p = fma(p, z, 2.0 / 3.0);
  float lm = fma(s * z, p, 2.0 * s);
  float ef = float(e);
  return fma(ef, kLn2Hi, fma(ef, kLn2Lo, lm));
}

// tanh: Taylor to x^13 below 0.4 (truncation < 2^-28 relative), else 1 - 2 / (exp(2|x|) + 1), which saturates to
// 1 instead of overflowing. Max error ~2 ulp.
float tanh_f(float x) {
  float a = abs(x);
  float r;
  if (a < 0.4) {
    float z = a * a;
    float p = fma(z, 21844.0 / 6081075.0, -1382.0 / 155925.0);
    p = fma(p, z, 62.0 / 2835.0);
    p = fma(p, z, -17.0 / 315.0);
    p = fma(p, z, 2.0 / 15.0);
    p = fma(p, z, -1.0 / 3.0);
    r = fma(a * z, p, a);
  } else {
    r = 1.0 - 2.0 / (exp_f(2.0 * a) + 1.0);
  }
  return x < 0.0 ? -r : r;
}

// erf: Norbert Juffa's faithfully rounded erff (the form MLX and PyTorch's MPS backend use): an odd polynomial
// below 0.9277, else 1 - exp(-t * poly(t)). Max error ~1 ulp.
float erf_f(float x) {
  float t = abs(x);
  float s = x * x;
  if (t > 0.927734375) {
    float r = fma(-1.72853470e-5, t, 3.83197126e-4);
    float u = fma(-3.88396438e-3, t, 2.42546219e-2);
    r = fma(r, s, u);
    r = fma(r, t, -1.06777877e-1);
    r = fma(r, t, -6.34846687e-1);
    r = fma(r, t, -1.28717512e-1);
    r = fma(r, t, -t);
    r = 1.0 - exp_f(r);
    return x < 0.0 ? -r : r;
  }
  float r = -5.96761703e-4;
  r = fma(r, s, 4.99119423e-3);
  r = fma(r, s, -2.67681349e-2);
  r = fma(r, s, 1.12819925e-1);
  r = fma(r, s, -3.76125336e-1);
  r = fma(r, s, 1.28379166e-1);
  return fma(r, x, x);
}

// x^y as torch.pow: exp(y log|x|), with the sign of an odd integer power of a negative base, NaN for a negative
// base and a non-integer exponent, and pow(x, 0) = pow(1, y) = 1. Error ~(2 + |y log x|) ulp.
float pow_f(float x, float y) {
  if (y == 0.0 || x == 1.0) return 1.0;
  if (isnan(x) || isnan(y)) return nan_f();
  float r = exp_f(y * log_f(abs(x)));
  if (x < 0.0) {
    if (y != trunc(y)) return nan_f();
    if (abs(y) < 16777216.0 && (int64_t(y) & 1) != 0) r = -r;
  }
  return r;
}

// (sin x, cos x) for |x| < 2^24. The reduction by pi/2 is exact in fixed point (Payne-Hanek with 64 bits of 2/pi,
// enough below 2^24): Cody-Waite with float constants needs a fused fma to stay exact, and Vulkan lets fma round
// twice, which would cost rope's large angles (position * inv_freq, up to ~1e6 rad) all their precision.
// Taylor polynomials on [-pi/4, pi/4] (truncation < 2^-30). Max error ~1 ulp, or 2e-10 absolute near zeros.
vec2 sincos_f(float x) {
  float a = abs(x);
  float r = a;
  uint q = 0;
  int e = int(floatBitsToUint(a) >> 23) - 127;
  if (e >= -1) {  // a >= 0.5; a = m * 2^-s
    uint64_t m = uint64_t((floatBitsToUint(a) & 0x7fffffu) | 0x800000u);
    int s = 23 - e;
    // t = a * 2/pi * 2^(32+s): an integer part (the quadrant) and 32+s fraction bits. 2/pi = 0.A2F9836E4E441529...
    uint64_t t = m * 0xA2F9836Eul + ((m * 0x4E441529ul) >> 32);
    uint fbits = uint(32 + s);
    uint64_t frac = t & ((1ul << fbits) - 1ul);
    q = uint(t >> fbits);
    int64_t f = int64_t(frac);
    if (frac >= (1ul << (fbits - 1))) {  // round to the nearest quadrant: fraction in [-1/2, 1/2)
      f -= int64_t(1ul << fbits);
      q += 1;
    }
    r = ldexp(float(f), -int(fbits)) * 1.57079632679f;
  }
  float z = r * r;
  float sp = fma(z, 1.0 / 362880.0, -1.0 / 5040.0);
  sp = fma(sp, z, 1.0 / 120.0);
  sp = fma(sp, z, -1.0 / 6.0);
  float sn = fma(r * z, sp, r);
  float cp = fma(z, -1.0 / 3628800.0, 1.0 / 40320.0);
  cp = fma(cp, z, -1.0 / 720.0);
  cp = fma(cp, z, 1.0 / 24.0);
  cp = fma(cp, z, -0.5);
  float cs = fma(z, cp, 1.0);
  q &= 3u;
  vec2 sc = (q & 1u) != 0 ? vec2(cs, -sn) : vec2(sn, cs);
  sc = q >= 2 ? -sc : sc;
  return vec2(x < 0.0 ? -sc.x : sc.x, sc.y);
}
