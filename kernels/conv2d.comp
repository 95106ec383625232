// variant: conv2d_f32 DT=f32
// variant: conv2d_f16 DT=f16
// variant: conv2d_bf16 DT=bf16
#version 460
// Convolution as an implicit GEMM: no im2col matrix is ever written. The GEMM operands are index maps over the
// tensors, and each BK-deep tile of them is gathered straight into shared memory; the rest is matmul.comp's
// register-blocked tile loop (BM x BN of the result per workgroup, TM x TN per thread, the next tiles fetched into
// registers while the current ones are multiplied). gl_WorkGroupID.z is the group of a grouped convolution. MODE
// picks the product (sizes of the forward convolution: x (N, C, H, W), weight (O, Cg, KH, KW), y (N, O, OH, OW);
// Cg = C / groups, Og = O / groups, g the group, all per group):
//   0 forward          y[(n,oh,ow), o]        = sum over (c,kh,kw) of im2col(x)[(n,oh,ow), (c,kh,kw)] * w[o, (c,kh,kw)]
//   1 input gradient   dx[(n,h,w), c]         = sum over (o,kh,kw) of dy[n, o, (h+pad-kh*dil)/stride, ...] * w[o, c, kh, kw]
//                                               (terms whose division is not exact or falls outside dy are zero)
//   2 weight gradient  dw[o, (c,kh,kw)]       = sum over (n,oh,ow) of dy[n, o, oh, ow] * im2col(x)[(n,oh,ow), (c,kh,kw)]
// KH and KW are specialization constants, so the kernel-tap divisions are by constants. POINTWISE (1x1, stride 1, no
// padding) drops the taps: the product is a plain GEMM over channels, x's pixels read in place.
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"

layout(local_size_x_id = 0) in;  // (BM / TM) * (BN / TN)
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const uint MODE = 0;
layout(constant_id = 7) const uint KH = 3;
layout(constant_id = 8) const uint KW = 3;
layout(constant_id = 9) const uint POINTWISE = 0;

// Mirrored by ConvPC in runtime/vulkan/conv.cpp. Addresses are of the forward op's tensors; MODE says which is written.
layout(push_constant) uniform PC {
  uint64_t x, weight, y, bias;  // bias == 0: none
  uint N, C, H, W;
  uint O, OH, OW, Cg;
  uint Og, stride_h, stride_w, pad_h;
  uint pad_w, dil_h, dil_w, M;
  uint NC, K;  // the GEMM's columns and depth (M its rows)
} pc;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

const uint WG = gl_WorkGroupSize.x;
const uint MT = BM / TM;
const uint NT = BN / TN;
const uint TAPS = KH * KW;
const uint AS = BM + 1;  // k-major tiles, padded as in matmul.comp
const uint BS = BN + 1;
const uint A_LOADS = (BM * BK + WG - 1) / WG;
const uint B_LOADS = (BN * BK + WG - 1) / WG;
// The fill order of each tile: along the operand's dim whose neighbours are neighbours in memory, so that
// neighbouring threads' reads coalesce. A runs along pixels (m) in modes 0 and 1, along pixels (k) in mode 2.
const bool A_K_FAST = MODE == 2;
shared float As[BK * AS];
shared float Bs[BK * BS];

uint tid, m0, n0, g;
float ra[A_LOADS], rb[B_LOADS];
// Per A slot (its row is fixed for the whole k loop in modes 0 and 1): the base offset of the row's image and
// group, and the pixel its taps start from (modes 0) or are measured from (mode 1); base ~0u: row outside M.
uint a_base[A_LOADS];
int a_h[A_LOADS], a_w[A_LOADS];

// Tile position (row, k) of element e of a workgroup's fill.
uvec2 tile_pos(uint e, bool k_fast, uint rows) { return k_fast ? uvec2(e / BK, e % BK) : uvec2(e % rows, e / rows); }

// im2col(x)[pixel starting at (h0, w0) in image base, (c, kh, kw) = kc]: zero in the padding.
float x_tap(uint base, int h0, int w0, uint kc) {
  if (POINTWISE == 1) return LOAD(pc.x, base + kc * pc.H * pc.W + uint(h0) * pc.W + uint(w0));
  const uint t = kc % TAPS;
  const int ih = h0 + int(t / KW * pc.dil_h), iw = w0 + int(t % KW * pc.dil_w);
  if (ih < 0 || iw < 0 || ih >= int(pc.H) || iw >= int(pc.W)) return 0.0;
  return LOAD(pc.x, base + (kc / TAPS * pc.H + uint(ih)) * pc.W + uint(iw));
}

// The row part of A for GEMM row m (modes 0 and 1): image base and start pixel.
void a_row(uint l, uint m) {
  a_base[l] = ~0u;
  if (m >= pc.M) return;
  if (MODE == 0) {
    const uint n = m / (pc.OH * pc.OW), p = m % (pc.OH * pc.OW);
    a_base[l] = (n * pc.C + g * pc.Cg) * pc.H * pc.W;
    a_h[l] = int(p / pc.OW * pc.stride_h) - int(pc.pad_h);
    a_w[l] = int(p % pc.OW * pc.stride_w) - int(pc.pad_w);
  } else if (MODE == 1) {
    const uint n = m / (pc.H * pc.W), p = m % (pc.H * pc.W);
    a_base[l] = (n * pc.O + g * pc.Og) * pc.OH * pc.OW;
    a_h[l] = int(p / pc.W + pc.pad_h);
    a_w[l] = int(p % pc.W + pc.pad_w);
  }
}

// A[m, k] for slot l (its row cached by a_row in modes 0 and 1).
float a_at(uint l, uint m, uint k) {
  if (k >= pc.K) return 0.0;
  if (MODE == 0) return a_base[l] == ~0u ? 0.0 : x_tap(a_base[l], a_h[l], a_w[l], k);
  if (MODE == 1) {
    if (a_base[l] == ~0u) return 0.0;
    if (POINTWISE == 1) return LOAD(pc.y, a_base[l] + k * pc.OH * pc.OW + uint(a_h[l]) * pc.OW + uint(a_w[l]));
    const uint t = k % TAPS;
    const int nh = a_h[l] - int(t / KW * pc.dil_h), nw = a_w[l] - int(t % KW * pc.dil_w);
    if (nh < 0 || nw < 0) return 0.0;
    const uint oh = uint(nh) / pc.stride_h, ow = uint(nw) / pc.stride_w;
    if (oh * pc.stride_h != uint(nh) || ow * pc.stride_w != uint(nw) || oh >= pc.OH || ow >= pc.OW) return 0.0;
    return LOAD(pc.y, a_base[l] + (k / TAPS * pc.OH + oh) * pc.OW + ow);
  }
  if (m >= pc.M) return 0.0;  // MODE 2: dy[n, o = m, p] with k = (n, p)
  const uint ohw = pc.OH * pc.OW;
  return LOAD(pc.y, ((k / ohw) * pc.O + g * pc.Og + m) * ohw + k % ohw);
}

// B[k, j].
float b_at(uint k, uint j) {
  if (k >= pc.K || j >= pc.NC) return 0.0;
  if (MODE == 0) return LOAD(pc.weight, (g * pc.Og + j) * pc.K + k);
  if (MODE == 1) return LOAD(pc.weight, ((g * pc.Og + k / TAPS) * pc.Cg + j) * TAPS + k % TAPS);
  const uint ohw = pc.OH * pc.OW, n = k / ohw, p = k % ohw;  // MODE 2: im2col(x)[(n, p), j]
  return x_tap((n * pc.C + g * pc.Cg) * pc.H * pc.W, int(p / pc.OW * pc.stride_h) - int(pc.pad_h),
               int(p % pc.OW * pc.stride_w) - int(pc.pad_w), j);
}

void fetch(uint k0) {
  [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {
    const uvec2 p = tile_pos(tid + l * WG, A_K_FAST, BM);
    ra[l] = tid + l * WG < BM * BK ? a_at(l, m0 + p.x, k0 + p.y) : 0.0;
  }
  [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {
    const uvec2 p = tile_pos(tid + l * WG, true, BN);
    rb[l] = tid + l * WG < BN * BK ? b_at(k0 + p.y, n0 + p.x) : 0.0;
  }
}

void stash() {
  [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {
    const uvec2 p = tile_pos(tid + l * WG, A_K_FAST, BM);
    if (tid + l * WG < BM * BK) As[p.y * AS + p.x] = ra[l];
  }
  [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {
    const uvec2 p = tile_pos(tid + l * WG, true, BN);
    if (tid + l * WG < BN * BK) Bs[p.y * BS + p.x] = rb[l];
  }
}

// Writes result element (m, j) of the group's GEMM.
void store(uint m, uint j, float v) {
  if (MODE == 0) {
    const uint ohw = pc.OH * pc.OW, o = g * pc.Og + j;
    STORE(pc.y, (m / ohw * pc.O + o) * ohw + m % ohw, v + (pc.bias == 0 ? 0.0 : LOAD(pc.bias, o)));
  } else if (MODE == 1) {
    const uint hw = pc.H * pc.W;
    STORE(pc.x, (m / hw * pc.C + g * pc.Cg + j) * hw + m % hw, v);
  } else {
    STORE(pc.weight, (g * pc.Og + m) * pc.NC + j, v);
  }
}

void main() {
  tid = gl_LocalInvocationID.x;
  m0 = gl_WorkGroupID.y * BM;
  n0 = gl_WorkGroupID.x * BN;
  g = gl_WorkGroupID.z;
  [[unroll]] for (uint l = 0; l < A_LOADS; ++l) a_row(l, m0 + tile_pos(tid + l * WG, A_K_FAST, BM).x);
  const uint tx = tid % NT, ty = tid / NT;

  float acc[TM * TN];
  [[unroll]] for (uint i = 0; i < TM * TN; ++i) acc[i] = 0.0;
  fetch(0);
  for (uint k0 = 0; k0 < pc.K; k0 += BK) {
    barrier();
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
    const uint m = m0 + ty + i * MT;
    if (m >= pc.M) break;
    [[unroll]] for (uint j = 0; j < TN; ++j) {
      const uint n = n0 + tx + j * NT;
      if (n < pc.NC) store(m, n, acc[i * TN + j]);
    }
  }
}
