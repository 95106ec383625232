// variant: linear_4bit_f32 DT=f32
// variant: linear_4bit_f16 DT=f16
// variant: linear_4bit_bf16 DT=bf16
// variant: linear_4bit_t_f32 DT=f32 TRANS=1
// variant: linear_4bit_t_f16 DT=f16 TRANS=1
// variant: linear_4bit_t_bf16 DT=bf16 TRANS=1
#version 460
// y (M, N) = x (M, K) @ W^T + bias for a bitsandbytes 4-bit W (N, K), f32 accumulation: a tiled GEMM in which each
// BK-deep tile of W is dequantised straight from the packed nibbles into shared memory, so no dequantised copy of
// W exists anywhere. A workgroup of 256 computes a 64 x 64 tile of y, each thread a 4 x 4 block in registers.
// x and y are contiguous; bias is pc.bias (0: none). The TRANS variants compute y (M, N) = x (M, K) @ W with W
// (K, N) instead (linear_4bit's input gradient): only the weight element a tile position reads changes.
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#include "quant4.glsl"

layout(local_size_x = 256) in;
const uint BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
const uint MT = BM / TM, NT = BN / TN;  // thread (tx, ty) owns rows ty + i*MT and columns tx + j*NT
const uint PER = BM * BK / 256;         // tile elements each thread stages (4 consecutive k of one row)
// k-major tiles with one float of padding, as in matmul.comp, so the inner loop reads along m / n.
shared float As[BK * (BM + 1)];
shared float Bs[BK * (BN + 1)];

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

void main() {
  load_code();
  const uint tid = gl_LocalInvocationID.x, tx = tid % NT, ty = tid / NT;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint row = tid / (BK / PER), kk = tid % (BK / PER) * PER;  // this thread's staging position
  float acc[TM * TN];
  [[unroll]] for (uint i = 0; i < TM * TN; ++i) acc[i] = 0.0;

  for (uint k0 = 0; k0 < pc.K; k0 += BK) {
    barrier();  // everyone is done reading the previous tiles
    const uint m = m0 + row, n = n0 + row;
    uint blk = 0xffffffffu;
    float scale = 0.0;
    [[unroll]] for (uint e = 0; e < PER; ++e) {
      const uint k = k0 + kk + e;
      As[(kk + e) * (BM + 1) + row] = m < pc.M && k < pc.K ? LOAD(pc.x, m * pc.K + k) : 0.0;
      float w = 0.0;
      if (n < pc.N && k < pc.K) {
#ifdef TRANS
        const uint i = k * pc.N + n;
#else
        const uint i = n * pc.K + k;
#endif
        if (i / pc.blocksize != blk) blk = i / pc.blocksize, scale = block_scale(blk);
        w = code_s[nibble(i)] * scale;
      }
      Bs[(kk + e) * (BN + 1) + row] = w;
    }
    barrier();
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      float av[TM], bv[TN];
      [[unroll]] for (uint i = 0; i < TM; ++i) av[i] = As[k * (BM + 1) + ty + i * MT];
      [[unroll]] for (uint j = 0; j < TN; ++j) bv[j] = Bs[k * (BN + 1) + tx + j * NT];
      [[unroll]] for (uint i = 0; i < TM; ++i)
        [[unroll]] for (uint j = 0; j < TN; ++j) acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
    }
  }

  [[unroll]] for (uint i = 0; i < TM; ++i) {
    const uint m = m0 + ty + i * MT;
    if (m >= pc.M) break;
    [[unroll]] for (uint j = 0; j < TN; ++j) {
      const uint n = n0 + tx + j * NT;
      if (n < pc.N) STORE(pc.y, m * pc.N + n, acc[i * TN + j] + (pc.bias == 0 ? 0.0 : LOAD(pc.bias, n)));
    }
  }
}
