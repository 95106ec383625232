// variant: flash_attention_f32 DT=f32
// variant: flash_attention_f16 DT=f16
// variant: flash_attention_bf16 DT=bf16
#version 460
// Flash attention (prefill): a workgroup per (query tile of ROWS positions, query head, batch). It walks the keys in
// tiles of BC staged in shared memory (with the v tile), keeps each row's running max and sum, rescales its output
// accumulators in registers, and skips key tiles past the causal diagonal or before the sliding window. Scores and probabilities of one tile live
// in shared memory; the output tile (ROWS x DV) is spread over the workgroup's registers: a thread owns fixed columns
// of a set of rows, so each v value read from shared memory feeds several FMAs. Tile sizes are chosen per device and
// head dim from the shared-memory limit (runtime/vulkan/attention.cpp); D, DV <= 256.
// The loops over the head dim and over a key tile are kept rolled ([[dont_unroll]]): fully unrolled they buy little
// on GPUs and make lavapipe's LLVM compile for tens of seconds; the loops over register arrays must unroll.
#extension GL_EXT_control_flow_attributes : require
#include "dtype.glsl"
#include "attention_common.glsl"

const uint D4 = (D + 3) / 4;                  // q and k rows as vec4 (zero padded)
const uint KS4 = D4 + 1;                      // k tile row stride: odd for even D4, so consecutive keys avoid bank conflicts
const uint PS = BC + 1;                       // score tile row stride, likewise for the row-wise softmax
// Scores: TC threads across a tile's keys times TR across its rows, each with RPT rows of KPT keys, so a k vector
// read from shared memory serves RPT dot products and the q reads of 32 neighbouring threads are one broadcast.
// (32 only shapes the layout; nothing depends on the subgroup size.)
const uint TC = BC < 32 ? BC : 32;
const uint TR = NT / TC;
const uint RPT = (ROWS + TR - 1) / TR;
const uint KPT = BC / TC;
const uint COLS = DV < NT ? DV : NT;          // p v: threads across output columns ...
const uint RG = NT / COLS;                    // ... and across rows
const uint ZR = (ROWS + RG - 1) / RG;         // rows per thread
const uint YC = (DV + NT - 1) / NT;           // columns per thread

shared vec4 qs[ROWS * D4];   // queries, pre-multiplied by the scale
shared vec4 ks[BC * KS4];
shared float vs[BC * DV];
shared float ps[ROWS * PS];  // scores, then probabilities
shared float row_m[ROWS], row_l[ROWS], row_alpha[ROWS];

// Elements 4 * d4 .. 4 * d4 + 3 of a row starting at `base`, zero past D.
vec4 load_vec4(uint64_t addr, uint base, uint d4) {
  vec4 x = vec4(0.0);
  for (uint i = 0; i < 4; ++i)
    if (4 * d4 + i < D) x[i] = LOAD(addr, base + 4 * d4 + i);
  return x;
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint t0 = gl_WorkGroupID.x * ROWS, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z, hk = h / pc.group;
  const uint q_base = b * pc.q_sb + h * pc.q_sh, k_base = b * pc.k_sb + hk * pc.k_sh, v_base = b * pc.v_sb + hk * pc.v_sh;
  const uint col = tid % COLS, rgrp = tid / COLS;  // this thread's p v columns col + y * NT, rows rgrp + z * RG

  for (uint i = tid; i < ROWS * D4; i += NT) {
    uint t = t0 + i / D4;
    qs[i] = t < pc.tq ? load_vec4(pc.q, q_base + t * pc.q_st, i % D4) * pc.scale : vec4(0.0);
  }
  if (tid < ROWS) {
    row_m[tid] = NEG_INF;
    row_l[tid] = 0.0;
  }
  float o[ZR * YC];
  for (uint x = 0; x < ZR * YC; ++x) o[x] = 0.0;
  const uint key_end = causal_key_end(min(t0 + ROWS, pc.tq) - 1);
  barrier();

  for (uint k0 = window_key_begin(t0); k0 < key_end; k0 += BC) {
    for (uint i = tid; i < BC * D4; i += NT) {
      uint c = i / D4, j = k0 + c;
      ks[c * KS4 + i % D4] = j < pc.tk ? load_vec4(pc.k, k_base + j * pc.k_st, i % D4) : vec4(0.0);
    }
    for (uint i = tid; i < BC * DV; i += NT) {
      uint j = k0 + i / DV;
      vs[i] = j < pc.tk ? LOAD(pc.v, v_base + j * pc.v_st + i % DV) : 0.0;
    }
    barrier();

    // Scores, masked: consecutive threads take consecutive keys.
    for (uint x = 0; x < KPT; ++x) {
      const uint c = tid % TC + x * TC, r0 = tid / TC, j = k0 + c;
      float acc[RPT];
      for (uint y = 0; y < RPT; ++y) acc[y] = 0.0;
      [[dont_unroll]] for (uint d4 = 0; d4 < D4; ++d4) {
        const vec4 kv = ks[c * KS4 + d4];
        for (uint y = 0; y < RPT; ++y) acc[y] += dot(qs[min(r0 + y * TR, ROWS - 1) * D4 + d4], kv);
      }
      for (uint y = 0; y < RPT; ++y) {
        const uint r = r0 + y * TR, t = t0 + r;
        if (r < ROWS) ps[r * PS + c] = (t < pc.tq && j < pc.tk) ? masked_score(acc[y], b, h, t, j) : NEG_INF;
      }
    }
    barrier();

    // Online softmax, one thread per row: fold this tile into the running max and sum.
    if (tid < ROWS) {
      float mx = NEG_INF;
      [[dont_unroll]] for (uint c = 0; c < BC; ++c) mx = max(mx, ps[tid * PS + c]);
      const float m_old = row_m[tid], m_new = max(m_old, mx);
      float sum = 0.0;
      [[dont_unroll]] for (uint c = 0; c < BC; ++c) {
        float p = softmax_weight(ps[tid * PS + c], m_new);
        ps[tid * PS + c] = p;
        sum += p;
      }
      const float alpha = softmax_weight(m_old, m_new);
      row_alpha[tid] = alpha;
      row_l[tid] = row_l[tid] * alpha + sum;
      row_m[tid] = m_new;
    }
    barrier();

    // o = alpha o + p v.
    if (rgrp < RG) {
      for (uint z = 0; z < ZR; ++z) {
        uint r = min(rgrp + z * RG, ROWS - 1);  // clamped rows compute unused values
        for (uint y = 0; y < YC; ++y) o[z * YC + y] *= row_alpha[r];
      }
      [[dont_unroll]] for (uint c = 0; c < BC; ++c) {
        float vv[YC];
        for (uint y = 0; y < YC; ++y) vv[y] = vs[c * DV + min(col + y * NT, DV - 1)];
        for (uint z = 0; z < ZR; ++z) {
          float p = ps[min(rgrp + z * RG, ROWS - 1) * PS + c];
          for (uint y = 0; y < YC; ++y) o[z * YC + y] += p * vv[y];
        }
      }
    }
    barrier();
  }

  if (rgrp >= RG) return;
  for (uint z = 0; z < ZR; ++z) {
    uint r = rgrp + z * RG, t = t0 + r;
    if (r >= ROWS || t >= pc.tq) continue;
    float l = row_l[r];  // 0 when every key of the row is masked: the row is zeros
    for (uint y = 0; y < YC; ++y) {
      uint d = col + y * NT;
      if (d < DV) STORE(pc.out_, ((b * pc.hq + h) * pc.tq + t) * DV + d, l > 0.0 ? o[z * YC + y] / l : 0.0);
    }
  }
}
