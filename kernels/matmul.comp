// variant: matmul_f32 DT=f32 ELEM=4
// variant: matmul_f16 DT=f16 ELEM=2
// variant: matmul_bf16 DT=bf16 ELEM=2
#version 460
// Tiled GEMM c = a @ b (+ bias), f32 accumulation, for any M, N, K, either layout of each operand and batched
// (broadcast) operands. A workgroup computes a BM x BN tile of c; each thread a TM x TN block of it in registers,
// from BK-deep tiles of a and b staged in shared memory. The next tiles are fetched into registers while the current
// ones are multiplied, so global latency hides behind the FMAs. Tile sizes are specialization constants picked per
// device by runtime/vulkan/matmul.cpp (shared memory and workgroup limits) and per shape (enough workgroups).
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;  // (BM / TM) * (BN / TN)
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

const uint WG = gl_WorkGroupSize.x;
const uint MT = BM / TM;  // threads along m; thread (tx, ty) owns rows ty + i*MT and columns tx + j*NT
const uint NT = BN / TN;
// Tiles are stored k-major (As[k][m], Bs[k][n]) so the inner loop reads along m / n: consecutive threads read
// consecutive columns of Bs, and threads of one row share an As value (a broadcast). The +1 padding keeps the
// k-fastest fill used for operands contiguous in k free of bank conflicts.
const uint AS = BM + 1;
const uint BS = BN + 1;
const uint A_LOADS = (BM * BK + WG - 1) / WG;
const uint B_LOADS = (BN * BK + WG - 1) / WG;
shared float As[BK * AS];
shared float Bs[BK * BS];

// Position (row or column of the tile, k) of the i-th element a thread fills. When the operand is contiguous in k,
// neighbouring threads take neighbouring k so that their global reads coalesce; otherwise neighbouring rows.
uvec2 tile_pos(uint i, bool k_fast, uint rows) { return k_fast ? uvec2(i / BK, i % BK) : uvec2(i % rows, i / rows); }

// Per-invocation state shared by the helpers below (private variables: registers after inlining).
uint64_t A, B, C;
uint tid, m0, n0;
bool a_k_fast, b_k_fast;
float ra[A_LOADS], rb[B_LOADS];  // the next tiles, in flight while the current ones are multiplied

// Reads this thread's part of the tiles at depth k0 into registers (zero outside the matrices).
void fetch(uint k0) {
  [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {
    uint i = tid + l * WG;
    uvec2 p = tile_pos(i, a_k_fast, BM);
    uint m = m0 + p.x, k = k0 + p.y;
    ra[l] = i < BM * BK && m < pc.M && k < pc.K ? LOAD(A, m * pc.a_rs + k * pc.a_cs) : 0.0;
  }
  [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {
    uint i = tid + l * WG;
    uvec2 p = tile_pos(i, b_k_fast, BN);
    uint n = n0 + p.x, k = k0 + p.y;
    rb[l] = i < BN * BK && n < pc.N && k < pc.K ? LOAD(B, k * pc.b_rs + n * pc.b_cs) : 0.0;
  }
}

// Writes the fetched registers into the shared tiles.
void stash() {
  [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {
    uint i = tid + l * WG;
    uvec2 p = tile_pos(i, a_k_fast, BM);
    if (i < BM * BK) As[p.y * AS + p.x] = ra[l];
  }
  [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {
    uint i = tid + l * WG;
    uvec2 p = tile_pos(i, b_k_fast, BN);
    if (i < BN * BK) Bs[p.y * BS + p.x] = rb[l];
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
