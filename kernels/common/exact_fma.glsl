// a * b == p + e exactly (Dekker's TwoProduct with Veltkamp splitting).
void two_product(float a, float b, out float p, out float e) {
  precise float pp = a * b;
  precise float ta = 4097.0 * a, tb = 4097.0 * b;
  precise float ah = ta - (ta - a), bh = tb - (tb - b);
  precise float al = a - ah, bl = b - bh;
  precise float ee = ((ah * bh - pp) + ah * bl + al * bh) + al * bl;
  p = pp;
  e = ee;
}

// exact_fma(a, b, c): a*b + c rounded once, on every driver. GLSL's fma() may legally round twice (Vulkan inherits
// its precision from OpFMul then OpFAdd, and lavapipe does exactly that), which breaks agreement with CPU kernels
// that fuse. Dekker's TwoProduct (Veltkamp splitting) and Knuth's TwoSum recover the rounding errors of the product
// and the sum exactly in `precise` f32 arithmetic, which Vulkan rounds correctly; adding them back gives the fused
// result except in rare double-rounding ties (then within one unit in the last place). Finite inputs below
// ~8e34 in magnitude (the split's 4097 * x must not overflow).
float exact_fma(float a, float b, float c) {
  float p, e;
  two_product(a, b, p, e);
  precise float s = p + c;
  precise float v = s - p;
  precise float f = (p - (s - v)) + (c - v);  // s + f == p + c exactly
  precise float r = s + (f + e);
  return r;
}

// x / y rounded to nearest, as torch's CPU and CUDA kernels divide. Vulkan lets OpFDiv be 2.5 units in the last place
// off (NVIDIA's driver is: an Euler step that cancels sigma ~ 1e3 drifted 2e-3 from diffusers on an H200); one
// Newton step on the exact residual x - q*y corrects it, except in rare ties. Same input range as exact_fma.
float div_rn(float x, float y) {
  precise float q = x / y;
  if (q == 0.0 || isinf(q) || isnan(q) || abs(q) > 1e30 || abs(y) > 1e30) return q;
  float p, e;
  two_product(q, y, p, e);
  precise float r = (x - p) - e;  // x - q*y: x - p is exact, p being within a factor 2 of x
  precise float c = q + r / y;
  return c;
}
