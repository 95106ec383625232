// variant: group_norm_f32 DT=f32
// variant: group_norm_f16 DT=f16
// variant: group_norm_bf16 DT=bf16
#version 460
// GroupNorm (torch) of a contiguous (N, C, *) tensor. Rows are (n, group) pairs of C / groups * spatial contiguous
// elements; statistics in f32, two passes (mean, then squared deviations). The output is a per-channel
// multiply-add with the affine folded in (as torch does) and, with SILU, y * sigmoid(y) before rounding
// (diffusers' GroupNorm + SiLU).
//
// Diffusion models have few rows of up to millions of elements, so a row may be shared by `splits` workgroups:
//   PHASE 0  one dispatch, whole rows (splits == 1)
//   PHASE 1  each split writes its (mean, sum of squared deviations) to `stats`
//   PHASE 2  each split combines its row's statistics (Chan et al.'s pairwise update, stable) and normalises.
#include "dtype.glsl"
#include "index.glsl"
#include "reduce_rows.glsl"

layout(constant_id = 0) const uint SILU = 0;
layout(constant_id = 2) const uint PHASE = 0;

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t weight;  // 0: none
  uint64_t bias;    // 0: none
  uint64_t dst;
  uint64_t stats;   // phases 1 and 2: 2 floats per (row, split)
  uint rows;        // N * groups
  uint len;         // channels per group * spatial
  uint spatial;     // elements per channel
  uint groups;
  uint per_group;   // channels per group
  uint splits;
  uint chunk;       // elements per split
  float eps;
} pc;

#define LOAD(a, i) CAT3(load_, DT, _f)(a, i)
#define STORE(i, v) CAT3(store_, DT, _f)(pc.dst, i, v)

void main() {
  const uint split = group_index() % pc.splits;
  const uint row = group_index() / pc.splits * COLS + row_in_group();
  const bool live = row < pc.rows;
  const uint base = row * pc.len;
  const uint begin = split * pc.chunk;
  const uint count = min(pc.len, begin + pc.chunk) - begin;
  const uint end = live ? begin + count : begin;

  float mean, rstd;
  if (PHASE != 2) {
    float acc = 0.0;
    for (uint r = begin + row_lane(); r < end; r += SLICES) acc += LOAD(pc.x, base + r);
    const float m = row_reduce(acc, RED_SUM) / float(count);
    float q = 0.0;
    for (uint r = begin + row_lane(); r < end; r += SLICES) {
      const float d = LOAD(pc.x, base + r) - m;
      q += d * d;
    }
    q = row_reduce(q, RED_SUM);
    if (PHASE == 1) {
      if (live && row_lane() == 0) {
        BufF32(pc.stats).v[2 * (row * pc.splits + split)] = m;
        BufF32(pc.stats).v[2 * (row * pc.splits + split) + 1] = q;
      }
      return;
    }
    mean = m;
    rstd = inversesqrt(q / float(pc.len) + pc.eps);
  } else {
    // Every thread folds the row's splits: n_s (m_s - mean)² adds what each split's own mean hid.
    const uint s0 = live ? 2 * row * pc.splits : 0;
    float total = 0.0;
    for (uint s = 0; s < pc.splits; ++s) {
      const float n = float(min(pc.len, (s + 1) * pc.chunk) - s * pc.chunk);
      total += n * BufF32(pc.stats).v[s0 + 2 * s];
    }
    mean = total / float(pc.len);
    float q = 0.0;
    for (uint s = 0; s < pc.splits; ++s) {
      const float n = float(min(pc.len, (s + 1) * pc.chunk) - s * pc.chunk);
      const float d = BufF32(pc.stats).v[s0 + 2 * s] - mean;
      q += BufF32(pc.stats).v[s0 + 2 * s + 1] + n * d * d;
    }
    rstd = inversesqrt(q / float(pc.len) + pc.eps);
  }
  const uint c0 = row % pc.groups * pc.per_group;
  for (uint r = begin + row_lane(); r < end; r += SLICES) {
    const uint c = c0 + r / pc.spatial;
    const float scale = pc.weight != 0 ? rstd * LOAD(pc.weight, c) : rstd;
    const float shift = (pc.bias != 0 ? LOAD(pc.bias, c) : 0.0) - mean * scale;
    float y = LOAD(pc.x, base + r) * scale + shift;
    if (SILU == 1) y = y / (1.0 + exp(-y));
    STORE(base + r, y);
  }
}
