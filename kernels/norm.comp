// variant: norm_f32 DT=f32
// variant: norm_f16 DT=f16
// variant: norm_bf16 DT=bf16
#version 460
// RMSNorm (HF LlamaRMSNorm) and LayerNorm (torch) over the last dim of x (rows: the other dims, any strides).
// Statistics in f32 over the threads of a row; LayerNorm's variance takes a second pass over the row (deviations
// from the mean) rather than E[x²] - E[x]², which cancels. The output is contiguous.
#include "dtype.glsl"
#include "index.glsl"
#include "reduce_rows.glsl"

layout(constant_id = 0) const uint KIND = 0;  // 0: rms_norm, 1: layer_norm
const uint KIND_RMS = 0;

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t weight;  // 0: none
  uint64_t bias;    // 0: none (layer_norm only)
  uint64_t dst;
  uint rows;
  uint len;
  uint stride;
  float eps;
  uvec4 shape_lo, shape_hi;  // kept dims of the input
  uvec4 stride_lo, stride_hi;
} pc;

#define LOAD(a, i) CAT3(load_, DT, _f)(a, i)
#define STORE(i, v) CAT3(store_, DT, _f)(pc.dst, i, v)

// v as stored in DT: HF rounds x * rsqrt(var + eps) to the input dtype before multiplying by the weight.
float round_f32(float v) { return v; }
float round_f16(float v) { return f16_bits_to_float(float_to_f16_bits(v)); }
float round_bf16(float v) { return bf16_bits_to_float(float_to_bf16_bits(v)); }
#define ROUND_DT CAT2(round_, DT)

void main() {
  const uint row = group_index() * COLS + row_in_group();
  const bool live = row < pc.rows;
  const uint base = live ? strided_offset(row, pc.shape_lo, pc.shape_hi, pc.stride_lo, pc.stride_hi) : 0;
  const uint end = live ? pc.len : 0;

  float acc = 0.0;
  for (uint r = row_lane(); r < end; r += SLICES) {
    const float v = LOAD(pc.x, base + r * pc.stride);
    acc += KIND == KIND_RMS ? v * v : v;
  }
  const float mean = row_reduce(acc, RED_SUM) / float(pc.len);
  float scale;
  if (KIND == KIND_RMS) {
    scale = inversesqrt(mean + pc.eps);
  } else {
    float q = 0.0;
    for (uint r = row_lane(); r < end; r += SLICES) {
      const float d = LOAD(pc.x, base + r * pc.stride) - mean;
      q += d * d;
    }
    scale = inversesqrt(row_reduce(q, RED_SUM) / float(pc.len) + pc.eps);
  }
  for (uint r = row_lane(); r < end; r += SLICES) {
    const float v = LOAD(pc.x, base + r * pc.stride);
    float y;
    if (KIND == KIND_RMS) {
      y = ROUND_DT(v * scale);
      if (pc.weight != 0) y *= LOAD(pc.weight, r);
    } else {
      y = (v - mean) * scale;
      if (pc.weight != 0) y *= LOAD(pc.weight, r);
      if (pc.bias != 0) y += LOAD(pc.bias, r);
    }
    STORE(row * pc.len + r, y);
  }
}
