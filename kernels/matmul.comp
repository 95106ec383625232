// variant: matmul_f32 DT=f32 ELEM=4
// variant: matmul_f16 DT=f16 ELEM=2
// variant: matmul_bf16 DT=bf16 ELEM=2
#version 460
// Tiled GEMM c = a @ b (+ bias), f32 accumulation, for any M, N, K, either layout of each operand and batched
// (broadcast) operands. A workgroup computes a BM x BN tile of c; each thread a TM x TN block of it in registers,
// from BK-deep tiles of a and b staged in shared memory. Tiles are read with 4-element loads where the operand is
// aligned for them, and the next tiles are fetched into registers while the current ones are multiplied, so global
// latency hides behind the FMAs. Tile sizes are specialization constants picked per device by
// runtime/vulkan/matmul.cpp (shared memory and workgroup limits) and per shape (enough workgroups).
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;  // (BM / TM) * (BN / TN)
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const uint A_VEC = 1;  // 4: a is aligned for 4-element loads along its contiguous dim
layout(constant_id = 7) const uint B_VEC = 1;

const uint WG = gl_WorkGroupSize.x;
const uint MT = BM / TM;  // threads along m; thread (tx, ty) owns rows ty + i*MT and columns tx + j*NT
const uint NT = BN / TN;
// Tiles are stored k-major (As[k][m], Bs[k][n]) so the inner loop reads along m / n: consecutive threads read
// consecutive columns of Bs, and threads of one row share an As value (a broadcast). The +1 padding keeps the
// k-fastest fill used for operands contiguous in k free of most bank conflicts.
const uint AS = BM + 1;
const uint BS = BN + 1;
const uint A_GROUPS = BM * BK / A_VEC;  // groups of A_VEC elements in a tile of a
const uint B_GROUPS = BN * BK / B_VEC;
const uint A_LOADS = (A_GROUPS + WG - 1) / WG;
const uint B_LOADS = (B_GROUPS + WG - 1) / WG;
shared float As[BK * AS];
shared float Bs[BK * BS];

// Per-invocation state shared by the helpers below (private variables: registers after inlining).
uint64_t A, B, C;
uint tid, m0, n0;
bool a_k_fast, b_k_fast;
float ra[A_LOADS * A_VEC], rb[B_LOADS * B_VEC];  // the next tiles, in flight while the current ones are multiplied

// Tile position (row, k) of the g-th group of vec elements a workgroup fills; a group runs along the operand's
// contiguous dim, and neighbouring threads take neighbouring groups along it so that their global reads coalesce.
uvec2 group_pos(uint g, bool k_fast, uint rows, uint vec) {
  return k_fast ? uvec2(g / (BK / vec), g % (BK / vec) * vec) : uvec2(g % (rows / vec) * vec, g / (rows / vec));
}
// Step from one element of a group to the next, as (row, k).
uvec2 group_step(bool k_fast) { return k_fast ? uvec2(0, 1) : uvec2(1, 0); }

// The group of vec elements at (row, k) of an operand with `rows` rows and pc.K columns, zero outside it; a group
// wholly inside is one vector load.
vec4 load_group(uint64_t base, uint row, uint k, uint rows, uint rs, uint ks, bool k_fast, uint vec) {
  const uvec2 step = group_step(k_fast);
  if (vec == 4 && row + 3 * step.x < rows && k + 3 * step.y < pc.K) return LOAD4(base, row * rs + k * ks);
  vec4 v = vec4(0.0);
  [[unroll]] for (uint e = 0; e < vec; ++e) {
    const uint r = row + e * step.x, kk = k + e * step.y;
    if (r < rows && kk < pc.K) v[e] = LOAD(base, r * rs + kk * ks);
  }
  return v;
}

// Reads this thread's part of the tiles at depth k0 into registers.
void fetch(uint k0) {
  [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {
    const uint g = tid + l * WG;
    const uvec2 p = group_pos(g, a_k_fast, BM, A_VEC);
    vec4 v = g < A_GROUPS ? load_group(A, m0 + p.x, k0 + p.y, pc.M, pc.a_rs, pc.a_cs, a_k_fast, A_VEC) : vec4(0.0);
    [[unroll]] for (uint e = 0; e < A_VEC; ++e) ra[l * A_VEC + e] = v[e];
  }
  [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {
    const uint g = tid + l * WG;
    const uvec2 p = group_pos(g, b_k_fast, BN, B_VEC);
    vec4 v = g < B_GROUPS ? load_group(B, n0 + p.x, k0 + p.y, pc.N, pc.b_cs, pc.b_rs, b_k_fast, B_VEC) : vec4(0.0);
    [[unroll]] for (uint e = 0; e < B_VEC; ++e) rb[l * B_VEC + e] = v[e];
  }
}

// Writes the fetched registers into the shared tiles.
void stash() {
  [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {
    const uint g = tid + l * WG;
    const uvec2 p = group_pos(g, a_k_fast, BM, A_VEC), step = group_step(a_k_fast);
    if (g < A_GROUPS)
      [[unroll]] for (uint e = 0; e < A_VEC; ++e) As[(p.y + e * step.y) * AS + p.x + e * step.x] = ra[l * A_VEC + e];
  }
  [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {
    const uint g = tid + l * WG;
    const uvec2 p = group_pos(g, b_k_fast, BN, B_VEC), step = group_step(b_k_fast);
    if (g < B_GROUPS)
      [[unroll]] for (uint e = 0; e < B_VEC; ++e) Bs[(p.y + e * step.y) * BS + p.x + e * step.x] = rb[l * B_VEC + e];
  }
}

void main() {
  batch_bases(A, B, C);
  tid = gl_LocalInvocationID.x;
  m0 = gl_WorkGroupID.y * BM;
  n0 = gl_WorkGroupID.x * BN;
  a_k_fast = pc.a_cs == 1;
  b_k_fast = pc.b_cs != 1;  // then b_rs == 1: b is a transposed (weight-layout) matrix
  const uint tx = tid % NT, ty = tid / NT;

  float acc[TM * TN];
  [[unroll]] for (uint i = 0; i < TM * TN; ++i) acc[i] = 0.0;
  fetch(0);
  for (uint k0 = 0; k0 < pc.K; k0 += BK) {
    barrier();  // everyone is done reading the previous tiles
    stash();
    barrier();
    if (k0 + BK < pc.K) fetch(k0 + BK);
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      float av[TM], bv[TN];
      [[unroll]] for (uint i = 0; i < TM; ++i) av[i] = As[k * AS + ty + i * MT];
      [[unroll]] for (uint j = 0; j < TN; ++j) bv[j] = Bs[k * BS + tx + j * NT];
      [[unroll]] for (uint i = 0; i < TM; ++i)
        [[unroll]] for (uint j = 0; j < TN; ++j) acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
    }
  }

  [[unroll]] for (uint i = 0; i < TM; ++i) {
    uint m = m0 + ty + i * MT;
    if (m >= pc.M) break;
    [[unroll]] for (uint j = 0; j < TN; ++j) {
      uint n = n0 + tx + j * NT;
      if (n < pc.N) STORE(C, m * pc.c_rs + n * pc.c_cs, acc[i * TN + j] + bias_at(m, n));
    }
  }
}
