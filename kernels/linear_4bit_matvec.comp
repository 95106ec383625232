// variant: linear_4bit_matvec_f32 DT=f32
// variant: linear_4bit_matvec_f16 DT=f16
// variant: linear_4bit_matvec_bf16 DT=bf16
#version 460
// y (M, N) = x (M, K) @ W^T + bias for few rows (M = ROWS <= 8, the decode step) and a bitsandbytes 4-bit W
// (N, K): bound by reading W once. Each subgroup owns one output column (a row of W) and walks its packed bytes
// with all lanes, then reduces with subgroupAdd; subgroups take columns in a grid-stride loop.
// WORDS: K is a multiple of 8, so every row of W starts on a 32-bit word and a word's 8 nibbles share one absmax
// block (blocksizes are multiples of 8): one load and one scale per 8 weights, the code values summed against x
// and the sum scaled once. Otherwise a lane takes single elements.
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "dtype.glsl"
#include "quant4.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 1;
layout(constant_id = 2) const bool WORDS = true;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

void main() {
  load_code();
  const uint lane = gl_SubgroupInvocationID, lanes = gl_SubgroupSize, K = pc.K;
  for (uint n = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID; n < pc.N;
       n += gl_NumWorkGroups.x * gl_NumSubgroups) {
    float acc[ROWS];
    [[unroll]] for (uint m = 0; m < ROWS; ++m) acc[m] = 0.0;
    if (WORDS) {
      const uint row_word = n * (K / 8);
      for (uint k = lane * 8; k < K; k += lanes * 8) {
        const uint word = BufU32(pc.w).v[row_word + k / 8];
        float part[ROWS];
        [[unroll]] for (uint m = 0; m < ROWS; ++m) part[m] = 0.0;
        [[unroll]] for (uint e = 0; e < 8; ++e) {
          // byte e / 2 of the little-endian word; its high nibble holds the even element
          const float c = code_s[(word >> (8 * (e / 2) + ((e & 1u) == 0u ? 4u : 0u))) & 15u];
          [[unroll]] for (uint m = 0; m < ROWS; ++m) part[m] = fma(c, LOAD(pc.x, m * K + k + e), part[m]);
        }
        const float s = block_scale((n * K + k) / pc.blocksize);
        [[unroll]] for (uint m = 0; m < ROWS; ++m) acc[m] = fma(part[m], s, acc[m]);
      }
    } else {
      for (uint k = lane; k < K; k += lanes) {
        const float w = weight_at(n * K + k);
        [[unroll]] for (uint m = 0; m < ROWS; ++m) acc[m] = fma(w, LOAD(pc.x, m * K + k), acc[m]);
      }
    }
    [[unroll]] for (uint m = 0; m < ROWS; ++m) acc[m] = subgroupAdd(acc[m]);
    if (subgroupElect())
      [[unroll]] for (uint m = 0; m < ROWS; ++m)
        STORE(pc.y, m * pc.N + n, acc[m] + (pc.bias == 0 ? 0.0 : LOAD(pc.bias, n)));
  }
}
