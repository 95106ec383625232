// variant: group_norm_f32 DT=f32
// variant: group_norm_f16 DT=f16
// variant: group_norm_bf16 DT=bf16
#version 460
// GroupNorm (torch) of a contiguous (N, C, *) tensor: a workgroup per (n, group) row of C / groups * spatial
// contiguous elements; mean and biased variance in f32 (two passes), then a per-channel multiply-add with the
// affine folded in (as torch does) and, with SILU, y * sigmoid(y) before rounding (diffusers' GroupNorm + SiLU).
#include "dtype.glsl"
#include "index.glsl"
#include "reduce_rows.glsl"

layout(constant_id = 0) const uint SILU = 0;

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t weight;  // 0: none
  uint64_t bias;    // 0: none
  uint64_t dst;
  uint rows;       // N * groups
  uint len;        // channels per group * spatial
  uint spatial;    // elements per channel
  uint groups;
  uint per_group;  // channels per group
  float eps;
} pc;

#define LOAD(a, i) CAT3(load_, DT, _f)(a, i)
#define STORE(i, v) CAT3(store_, DT, _f)(pc.dst, i, v)

void main() {
  const uint row = group_index() * COLS + row_in_group();
  const bool live = row < pc.rows;
  const uint base = row * pc.len;
  const uint end = live ? pc.len : 0;

  float acc = 0.0;
  for (uint r = row_lane(); r < end; r += SLICES) acc += LOAD(pc.x, base + r);
  const float mean = row_reduce(acc, RED_SUM) / float(pc.len);
  float q = 0.0;
  for (uint r = row_lane(); r < end; r += SLICES) {
    const float d = LOAD(pc.x, base + r) - mean;
    q += d * d;
  }
  const float rstd = inversesqrt(row_reduce(q, RED_SUM) / float(pc.len) + pc.eps);
  const uint c0 = row % pc.groups * pc.per_group;
  for (uint r = row_lane(); r < end; r += SLICES) {
    const uint c = c0 + r / pc.spatial;
    const float scale = pc.weight != 0 ? rstd * LOAD(pc.weight, c) : rstd;
    const float shift = (pc.bias != 0 ? LOAD(pc.bias, c) : 0.0) - mean * scale;
    float y = LOAD(pc.x, base + r) * scale + shift;
    if (SILU == 1) y = y / (1.0 + exp(-y));
    STORE(base + r, y);
  }
}
