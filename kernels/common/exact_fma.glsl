// exact_fma(a, b, c): a*b + c rounded once, on every driver. GLSL's fma() may legally round twice (Vulkan inherits
// its precision from OpFMul then OpFAdd, and lavapipe does exactly that), which breaks agreement with CPU kernels
// that fuse. Dekker's TwoProduct (Veltkamp splitting) and Knuth's TwoSum recover the rounding errors of the product
// and the sum exactly in `precise` f32 arithmetic, which Vulkan rounds correctly; adding them back gives the fused
// result except in rare double-rounding ties (then within one unit in the last place). Finite inputs below
// ~8e34 in magnitude (the split's 4097 * x must not overflow).
float exact_fma(float a, float b, float c) {
  precise float p = a * b;
  precise float ta = 4097.0 * a, tb = 4097.0 * b;
  precise float ah = ta - (ta - a), bh = tb - (tb - b);
  precise float al = a - ah, bl = b - bh;
  precise float e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;  // p + e == a*b exactly
  precise float s = p + c;
  precise float v = s - p;
  precise float f = (p - (s - v)) + (c - v);  // s + f == p + c exactly
  precise float r = s + (f + e);
  return r;
}
