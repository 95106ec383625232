// variant: matvec_f32 DT=f32 ELEM=4
// variant: matvec_f16 DT=f16 ELEM=2
// variant: matvec_bf16 DT=bf16 ELEM=2
#version 460
// c = a @ b (+ bias) for a with few rows (M = ROWS <= 8): the decode step of a language model, y = x @ W^T, which
// is bound by reading b once. Two layouts of b:
//  - K_CONTIG (b[k, n] contiguous in k: a weight W (N, K) seen transposed). Each subgroup owns NC columns and walks
//    K with all its lanes (4 consecutive elements per lane when VEC == 4), then reduces with subgroupAdd. Subgroups
//    take column groups in a grid-stride loop, so the result is right whatever subgroup size the driver picks.
//  - otherwise (b contiguous in n): a thread owns VEC adjacent columns, the workgroup's KS slices of threads split
//    K, and the slices are summed through shared memory.
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "dtype.glsl"
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 1;  // = M: the accumulators are exactly ROWS * NC (or ROWS * VEC) registers
layout(constant_id = 2) const uint NC = 4;    // columns per subgroup (K_CONTIG)
layout(constant_id = 3) const uint VEC = 4;   // 4: operands aligned for 4-element loads along their contiguous dim; 1: not
layout(constant_id = 4) const bool K_CONTIG = true;

const uint WG = gl_WorkGroupSize.x;
const uint NT = 32;       // column threads per workgroup (n-contiguous b); WG / NT slices of K
const uint KS = WG / NT;
shared float red[WG * VEC];

void store_out(uint64_t C, uint m, uint n, float v) { STORE(C, m * pc.c_rs + n * pc.c_cs, v + bias_at(m, n)); }

void matvec_k_contig(uint64_t A, uint64_t B, uint64_t C) {
  const uint lane = gl_SubgroupInvocationID, lanes = gl_SubgroupSize, K = pc.K;
  const uint groups = (pc.N + NC - 1) / NC;
  for (uint g = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID; g < groups;
       g += gl_NumWorkGroups.x * gl_NumSubgroups) {
    float acc[ROWS * NC];
    [[unroll]] for (uint i = 0; i < ROWS * NC; ++i) acc[i] = 0.0;
    uint col[NC];  // offsets of the columns; those past N repeat the last one and are not stored
    [[unroll]] for (uint c = 0; c < NC; ++c) col[c] = min(g * NC + c, pc.N - 1) * pc.b_cs;
    uint k0 = 0;
    if (VEC == 4) {  // then a_cs == b_rs == 1
      const uint K4 = K & ~3u;
      for (uint k = lane * 4; k < K4; k += lanes * 4) {
        vec4 x[ROWS];
        [[unroll]] for (uint m = 0; m < ROWS; ++m) x[m] = LOAD4(A, m * pc.a_rs + k);
        [[unroll]] for (uint c = 0; c < NC; ++c) {
          vec4 w = LOAD4(B, col[c] + k);
          [[unroll]] for (uint m = 0; m < ROWS; ++m) acc[m * NC + c] += dot(x[m], w);
        }
      }
      k0 = K4;
    }
    for (uint k = k0 + lane; k < K; k += lanes) {
      [[unroll]] for (uint c = 0; c < NC; ++c) {
        float w = LOAD(B, col[c] + k * pc.b_rs);
        [[unroll]] for (uint m = 0; m < ROWS; ++m) acc[m * NC + c] += LOAD(A, m * pc.a_rs + k * pc.a_cs) * w;
      }
    }
    [[unroll]] for (uint i = 0; i < ROWS * NC; ++i) acc[i] = subgroupAdd(acc[i]);
    if (subgroupElect()) {
      [[unroll]] for (uint c = 0; c < NC; ++c) {
        uint n = g * NC + c;
        if (n < pc.N) [[unroll]] for (uint m = 0; m < ROWS; ++m) store_out(C, m, n, acc[m * NC + c]);
      }
    }
  }
}

void matvec_n_contig(uint64_t A, uint64_t B, uint64_t C) {
  const uint t = gl_LocalInvocationID.x, tc = t % NT, ks = t / NT, K = pc.K, N = pc.N;
  for (uint cg = gl_WorkGroupID.x; cg * NT * VEC < N; cg += gl_NumWorkGroups.x) {  // uniform in the workgroup
    const uint n0 = (cg * NT + tc) * VEC;
    float acc[ROWS * VEC];
    [[unroll]] for (uint i = 0; i < ROWS * VEC; ++i) acc[i] = 0.0;
    if (n0 + VEC <= N) {  // then b_cs == 1 when VEC == 4
      for (uint k = ks; k < K; k += KS) {
        vec4 w = VEC == 4 ? LOAD4(B, k * pc.b_rs + n0) : vec4(LOAD(B, k * pc.b_rs + n0 * pc.b_cs), 0, 0, 0);
        [[unroll]] for (uint m = 0; m < ROWS; ++m) {
          float x = LOAD(A, m * pc.a_rs + k * pc.a_cs);
          [[unroll]] for (uint c = 0; c < VEC; ++c) acc[m * VEC + c] += x * w[c];
        }
      }
    } else {  // the last, partial group of columns
      for (uint k = ks; k < K; k += KS) {
        [[unroll]] for (uint c = 0; c < VEC; ++c) {
          if (n0 + c >= N) break;
          float w = LOAD(B, k * pc.b_rs + (n0 + c) * pc.b_cs);
          [[unroll]] for (uint m = 0; m < ROWS; ++m) acc[m * VEC + c] += LOAD(A, m * pc.a_rs + k * pc.a_cs) * w;
        }
      }
    }
    // Sum the KS slices one row at a time, which keeps the shared buffer at WG * VEC floats.
    [[unroll]] for (uint m = 0; m < ROWS; ++m) {
      barrier();
      [[unroll]] for (uint c = 0; c < VEC; ++c) red[t * VEC + c] = acc[m * VEC + c];
      barrier();
      if (ks == 0) {
        [[unroll]] for (uint c = 0; c < VEC; ++c) {
          if (n0 + c >= N) break;
          float s = 0.0;
          for (uint j = 0; j < KS; ++j) s += red[(j * NT + tc) * VEC + c];
          store_out(C, m, n0 + c, s);
        }
      }
    }
  }
}

void main() {
  uint64_t A, B, C;
  batch_bases(A, B, C);
  if (K_CONTIG) matvec_k_contig(A, B, C);
  else matvec_n_contig(A, B, C);
}
