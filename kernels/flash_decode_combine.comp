// variant: flash_decode_combine_f32 DT=f32
// variant: flash_decode_combine_f16 DT=f16
// variant: flash_decode_combine_bf16 DT=bf16
#version 460
// Second pass of split decoding: a workgroup per query row merges the n_split partial outputs of flash_decode.comp,
// o = sum_s e^(m_s - M) o_s / sum_s e^(m_s - M) l_s with M the largest split max; splits that saw no key (l_s = 0)
// drop out, and a row with none left is zeros.
#include "dtype.glsl"
layout(local_size_x = 64) in;

layout(push_constant) uniform PC {
  uint64_t part;  // f32: rows x n_split x dv partial outputs, then rows x n_split x (max, sum)
  uint64_t out_;  // rows x dv of DT
  uint rows, n_split, dv, pad_;
} pc;

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= pc.rows) return;
  const uint stats = pc.rows * pc.n_split * pc.dv + row * pc.n_split * 2;
  float m = uintBitsToFloat(0xff800000u);
  for (uint s = 0; s < pc.n_split; ++s)
    if (load_f32_f(pc.part, stats + 2 * s + 1) > 0.0) m = max(m, load_f32_f(pc.part, stats + 2 * s));
  for (uint d = gl_LocalInvocationID.x; d < pc.dv; d += gl_WorkGroupSize.x) {
    float acc = 0.0, l = 0.0;
    for (uint s = 0; s < pc.n_split; ++s) {
      float ls = load_f32_f(pc.part, stats + 2 * s + 1);
      if (ls > 0.0) {
        float w = exp(load_f32_f(pc.part, stats + 2 * s) - m);
        acc += w * load_f32_f(pc.part, (row * pc.n_split + s) * pc.dv + d);
        l += w * ls;
      }
    }
    CAT3(store_, DT, _f)(pc.out_, row * pc.dv + d, l > 0.0 ? acc / l : 0.0);
  }
}
