// variant: flash_decode_f32 DT=f32
// variant: flash_decode_f16 DT=f16
// variant: flash_decode_bf16 DT=bf16
#version 460
// Flash decoding: attention for few query positions (Tq <= 8) over a long KV cache. A workgroup per (key split,
// kv head x row group, batch) takes ROWS query rows that read the same kv head (the GQA group's heads x positions),
// so each k/v row is loaded once for all of them. Within a tile of BC keys, each subgroup computes whole dot products
// of a key (lanes split the head dim, coalesced, then subgroupAdd) and each row's softmax is a subgroup reduction;
// for p v, thread columns are spread over DV and, when DV < NT, over interleaved key subsets summed at the end.
// With n_split > 1 each split writes unnormalised f32 partials plus (max, sum) that flash_decode_combine.comp merges,
// so a single query still fills the GPU. The subgroup size is read at run time, never assumed.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "dtype.glsl"
#include "attention_common.glsl"

const uint COLS = DV < NT ? DV : NT;          // threads per key subset in p v
const uint SUBSETS = DV < NT ? NT / DV : 1;   // key subsets processed side by side
const uint OPT = (DV + NT - 1) / NT;          // output columns per thread

shared float qs[ROWS * D];   // queries, pre-multiplied by the scale
shared float ps[ROWS * BC];  // scores, then probabilities
shared float row_m[ROWS], row_l[ROWS], row_alpha[ROWS];
shared float red[(SUBSETS - 1) * ROWS * DV + 1];  // partial outputs of key subsets 1.. for the final sum

void main() {
  const uint tid = gl_LocalInvocationID.x, lane = gl_SubgroupInvocationID;
  const uint rows_per_kv = pc.group * pc.tq, row_groups = (rows_per_kv + ROWS - 1) / ROWS;
  const uint split = gl_WorkGroupID.x, hk = gl_WorkGroupID.y / row_groups, b = gl_WorkGroupID.z;
  const uint r0 = gl_WorkGroupID.y % row_groups * ROWS;
  const uint k_base = b * pc.k_sb + hk * pc.k_sh, v_base = b * pc.v_sb + hk * pc.v_sh;
  // Local row r is query head hk * group + (r0 + r) / Tq at position (r0 + r) % Tq.
  const uint n_rows = min(ROWS, rows_per_kv - r0);
  uint max_t = 0, min_t = pc.tq;
  for (uint r = 0; r < n_rows; ++r) {
    max_t = max(max_t, (r0 + r) % pc.tq);
    min_t = min(min_t, (r0 + r) % pc.tq);
  }

  for (uint i = tid; i < ROWS * D; i += NT) {
    uint r = i / D, fr = r0 + r, h = hk * pc.group + fr / pc.tq;
    qs[i] = r < n_rows ? LOAD(pc.q, b * pc.q_sb + h * pc.q_sh + fr % pc.tq * pc.q_st + i % D) * pc.scale : 0.0;
  }
  if (tid < ROWS) {
    row_m[tid] = NEG_INF;
    row_l[tid] = 0.0;
  }
  const uint col = tid % COLS, subset = tid / COLS;
  float o[ROWS * OPT];
  for (uint x = 0; x < ROWS * OPT; ++x) o[x] = 0.0;
  const uint split_begin = split * pc.split_len;
  const uint k_begin = max(split_begin, window_key_begin(min_t));
  const uint k_end = min(causal_key_end(max_t), split_begin + pc.split_len);
  barrier();

  for (uint k0 = k_begin; k0 < k_end; k0 += BC) {
    // Scores: a subgroup per key, its lanes splitting the head dim.
    for (uint c = gl_SubgroupID; c < BC; c += gl_NumSubgroups) {
      const uint j = k0 + c;
      float acc[ROWS];
      for (uint r = 0; r < ROWS; ++r) acc[r] = 0.0;
      if (j < k_end) {
        for (uint d = lane; d < D; d += gl_SubgroupSize) {
          float kv = LOAD(pc.k, k_base + j * pc.k_st + d);
          for (uint r = 0; r < ROWS; ++r) acc[r] += qs[r * D + d] * kv;
        }
      }
      for (uint r = 0; r < ROWS; ++r) {
        float s = subgroupAdd(acc[r]);
        if (subgroupElect()) {
          uint fr = r0 + r;
          ps[r * BC + c] = (r < n_rows && j < k_end) ? masked_score(s, b, hk * pc.group + fr / pc.tq, fr % pc.tq, j) : NEG_INF;
        }
      }
    }
    barrier();

    // Online softmax: a subgroup per row.
    for (uint r = gl_SubgroupID; r < ROWS; r += gl_NumSubgroups) {
      float mx = NEG_INF;
      for (uint c = lane; c < BC; c += gl_SubgroupSize) mx = max(mx, ps[r * BC + c]);
      const float m_old = row_m[r], m_new = max(m_old, subgroupMax(mx));
      float sum = 0.0;
      for (uint c = lane; c < BC; c += gl_SubgroupSize) {
        float p = softmax_weight(ps[r * BC + c], m_new);
        ps[r * BC + c] = p;
        sum += p;
      }
      sum = subgroupAdd(sum);
      if (subgroupElect()) {
        const float alpha = softmax_weight(m_old, m_new);
        row_alpha[r] = alpha;
        row_l[r] = row_l[r] * alpha + sum;
        row_m[r] = m_new;
      }
    }
    barrier();

    // o = alpha o + p v over this thread's key subset; v rows are read once, coalesced along DV.
    if (subset < SUBSETS) {
      for (uint r = 0; r < ROWS; ++r)
        for (uint x = 0; x < OPT; ++x) o[r * OPT + x] *= row_alpha[r];
      for (uint c = subset; c < BC && k0 + c < k_end; c += SUBSETS) {
        for (uint x = 0; x < OPT; ++x) {
          uint d = col + x * COLS;
          if (d < DV) {
            float vv = LOAD(pc.v, v_base + (k0 + c) * pc.v_st + d);
            for (uint r = 0; r < ROWS; ++r) o[r * OPT + x] += ps[r * BC + c] * vv;
          }
        }
      }
    }
    barrier();
  }

  if (SUBSETS > 1) {  // sum the key subsets' partial outputs into subset 0
    if (subset > 0 && subset < SUBSETS)
      for (uint r = 0; r < ROWS; ++r) red[((subset - 1) * ROWS + r) * DV + col] = o[r];
    barrier();
    if (subset == 0)
      for (uint s = 1; s < SUBSETS; ++s)
        for (uint r = 0; r < ROWS; ++r) o[r] += red[((s - 1) * ROWS + r) * DV + col];
  }
  if (subset != 0) return;
  for (uint r = 0; r < n_rows; ++r) {
    const uint fr = r0 + r, row = (b * pc.hq + hk * pc.group + fr / pc.tq) * pc.tq + fr % pc.tq;
    const float l = row_l[r];
    for (uint x = 0; x < OPT; ++x) {
      uint d = col + x * COLS;
      if (d >= DV) continue;
      if (pc.n_split == 1) {
        STORE(pc.out_, row * DV + d, l > 0.0 ? o[r * OPT + x] / l : 0.0);  // fully masked rows: zeros
      } else {
        store_f32_f(pc.out_, (row * pc.n_split + split) * DV + d, o[r * OPT + x]);
      }
    }
    if (pc.n_split > 1 && col == 0) {  // (max, sum) of this split, after all rows' partial outputs
      uint stats = pc.batch * pc.hq * pc.tq * pc.n_split * DV + (row * pc.n_split + split) * 2;
      store_f32_f(pc.out_, stats, row_m[r]);
      store_f32_f(pc.out_, stats + 1, row_l[r]);
    }
  }
}
