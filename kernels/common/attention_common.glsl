// Shared by the attention kernels (flash_attention.comp, flash_decode.comp): push constants mirrored by AttentionPC in
// runtime/vulkan/attention.cpp, the specialization constants, typed loads and the causal / mask rules.
// Requires DT (f32, f16 or bf16) and dtype.glsl.

layout(constant_id = 0) const uint NT = 128;     // threads per workgroup
layout(constant_id = 1) const uint ROWS = 32;    // query rows per workgroup
layout(constant_id = 2) const uint BC = 32;      // keys per tile
layout(constant_id = 3) const uint D = 64;       // head dim of q and k
layout(constant_id = 4) const uint DV = 64;      // head dim of v
layout(constant_id = 5) const uint CAUSAL = 0;   // 1: query t sees keys j <= t + (Tk - Tq)
layout(constant_id = 6) const uint MASK = 0;     // 0 none, 1 additive f32, 2 keep (nonzero = attend)
layout(local_size_x_id = 0) in;

// Strides are in elements; q, k and v have a unit stride on the head dim; the mask is f32 viewed as (B, Hq, Tq, Tk)
// with a unit key stride; out is contiguous (B, Hq, Tq, DV) of DT, or the f32 partials of a split decode.
layout(push_constant) uniform PC {
  uint64_t q, k, v, mask, out_;
  uint q_sb, q_sh, q_st;
  uint k_sb, k_sh, k_st;
  uint v_sb, v_sh, v_st;
  uint m_sb, m_sh, m_st;
  uint hq, group, tq, tk;  // group = Hq / Hkv
  float scale;
  uint split_len;  // decode: keys per split
  uint n_split;    // decode: splits; 1 writes out_ directly
  uint batch;
  uint window;  // sliding window (with CAUSAL): query t sees keys j > t + (Tk - Tq) - window; 0: none
} pc;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)
#define NEG_INF uintBitsToFloat(0xff800000u)

// Score of query (b, h, t) for an existing key j after the causal and mask rules: -inf when masked.
float masked_score(float s, uint b, uint h, uint t, uint j) {
  if (CAUSAL != 0 && int(j) > int(t) + int(pc.tk) - int(pc.tq)) return NEG_INF;
  if (CAUSAL != 0 && pc.window != 0 && int(j) <= int(t) + int(pc.tk) - int(pc.tq) - int(pc.window)) return NEG_INF;
  if (MASK != 0) {
    float m = BufF32(pc.mask).v[b * pc.m_sb + h * pc.m_sh + t * pc.m_st + j];
    if (MASK == 1) return s + m;
    if (m == 0.0) return NEG_INF;
  }
  return s;
}

// The last key any of a workgroup's queries may see, plus one (causal), capped at Tk; max_t is its largest position.
uint causal_key_end(uint max_t) {
  if (CAUSAL == 0) return pc.tk;
  return uint(clamp(int(max_t) + int(pc.tk) - int(pc.tq) + 1, 0, int(pc.tk)));
}

// The first key any of a workgroup's queries may see under the sliding window; min_t is its smallest position.
uint window_key_begin(uint min_t) {
  if (CAUSAL == 0 || pc.window == 0) return 0;
  return uint(max(int(min_t) + int(pc.tk) - int(pc.tq) - int(pc.window) + 1, 0));
}

// exp(s - m), with masked scores (-inf) giving exactly 0 without relying on the driver's exp(-inf).
float softmax_weight(float s, float m) { return s == NEG_INF ? 0.0 : exp(s - m); }
