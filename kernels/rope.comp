// variant: rope_f32 DT=f32
// variant: rope_f16 DT=f16
// variant: rope_bf16 DT=bf16
#version 460
// Rotary position embedding, one invocation per rotated pair or passed-through element of each (b, h, t) row of
// x (B, H, T, D, any strides) into a contiguous out. Angle = inv_freq[j] * position in f32 as HF computes it; sin
// and cos from elementwise_math.glsl, accurate for the large angles of long contexts (GLSL's sin/cos are not).
// cos/sin are recomputed per head: a few dozen flops per pair is cheaper than a trip through memory for a table.
// Mirrors RopePC in runtime/vulkan/rope.cpp.
#include "dtype.glsl"
#include "index.glsl"
#include "elementwise_math.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool INTERLEAVED = false;  // pairs (2j, 2j+1), else (j, j + rotary_dim / 2)

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t out_;
  uint64_t pos;       // f32 (B, T) with strides pos_stride_b / pos_stride_t
  uint64_t inv_freq;  // f32 (rotary_dim / 2)
  uvec4 shape;        // B, H, T, D
  uvec4 x_stride;
  uint pos_stride_b;
  uint pos_stride_t;
  uint rotary_dim;
  uint n;  // invocations: B * H * T * (rotary_dim / 2 + D - rotary_dim)
} pc;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

void main() {
  uint item = linear_id();
  if (item >= pc.n) return;
  uint D = pc.shape.w, half_dim = pc.rotary_dim / 2;
  uint per_row = half_dim + D - pc.rotary_dim;
  uint row = item / per_row, k = item - row * per_row;
  uint t = row % pc.shape.z, bh = row / pc.shape.z;
  uint h = bh % pc.shape.y, b = bh / pc.shape.y;
  uint in_base = b * pc.x_stride.x + h * pc.x_stride.y + t * pc.x_stride.z;
  uint out_base = row * D;
  uint sd = pc.x_stride.w;
  if (k < half_dim) {
    float p = load_f32_f(pc.pos, b * pc.pos_stride_b + t * pc.pos_stride_t);
    vec2 sc = sincos_f(load_f32_f(pc.inv_freq, k) * p);
    uint d0 = INTERLEAVED ? 2 * k : k, d1 = INTERLEAVED ? 2 * k + 1 : k + half_dim;
    float x0 = LOAD(pc.x, in_base + d0 * sd), x1 = LOAD(pc.x, in_base + d1 * sd);
    STORE(pc.out_, out_base + d0, x0 * sc.y - x1 * sc.x);
    STORE(pc.out_, out_base + d1, x1 * sc.y + x0 * sc.x);
  } else {
    uint d = pc.rotary_dim + (k - half_dim);
    STORE(pc.out_, out_base + d, LOAD(pc.x, in_base + d * sd));
  }
}
