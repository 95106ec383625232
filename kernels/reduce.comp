// variant: reduce_f32_f32 IN=f32 OUT=f32 ACC_FLOAT=1
// variant: reduce_f16_f16 IN=f16 OUT=f16 ACC_FLOAT=1
// variant: reduce_bf16_bf16 IN=bf16 OUT=bf16 ACC_FLOAT=1
// variant: reduce_f16_f32 IN=f16 OUT=f32 ACC_FLOAT=1
// variant: reduce_bf16_f32 IN=bf16 OUT=f32 ACC_FLOAT=1
// variant: reduce_f32_f16 IN=f32 OUT=f16 ACC_FLOAT=1
// variant: reduce_f32_bf16 IN=f32 OUT=bf16 ACC_FLOAT=1
// variant: reduce_i32_i64 IN=i32 OUT=i64
// variant: reduce_i32_i32 IN=i32 OUT=i32
// variant: reduce_i64_i64 IN=i64 OUT=i64
// variant: reduce_u8_i64 IN=u8 OUT=i64
// variant: reduce_u8_u8 IN=u8 OUT=u8
// variant: reduce_i8_i64 IN=i8 OUT=i64
// variant: reduce_i8_i8 IN=i8 OUT=i8
#version 460
// Reduction of each row of x (the kept dims, any strides) along one strided dim: sum, mean, max, min, argmax, var.
// Floats accumulate in f32 and combine through subgroups; integers accumulate in i64. A row may be cut into
// `splits` pieces, each written as a partial result (out[row * splits + split]) that a second dispatch reduces:
// that keeps a GPU busy when there are few, long rows. The f16/bf16 <-> f32 variants serve those two stages.
#include "dtype.glsl"
#include "index.glsl"
#include "reduce_rows.glsl"

layout(constant_id = 0) const uint OP = 0;  // glint::ReduceOp
const uint OP_SUM = 0;
const uint OP_MEAN = 1;
const uint OP_MAX = 2;
const uint OP_MIN = 3;
const uint OP_ARGMAX = 4;
const uint OP_VAR = 5;

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t dst;
  uint rows;       // rows (kept-dim positions)
  uint len;        // elements per row
  uint stride;     // element stride along the row
  uint splits;     // workgroups sharing a row
  uint split_len;  // elements per split
  float divisor;   // mean: len; var: max(0, len - correction)
  uint pad0, pad1;
  uvec4 shape_lo, shape_hi;  // kept dims
  uvec4 stride_lo, stride_hi;
} pc;

#ifdef ACC_FLOAT
#define ACC float
#define LOAD(i) CAT3(load_, IN, _f)(pc.x, i)
#define STORE(i, v) CAT3(store_, OUT, _f)(pc.dst, i, v)
#else
#define ACC int64_t
#define LOAD(i) CAT3(load_, IN, _i)(pc.x, i)
#define STORE(i, v) CAT3(store_, OUT, _i)(pc.dst, i, v)
#endif

// (value, index) pairs for argmax and integer reductions, combined in shared memory: 64-bit subgroup arithmetic
// is an optional feature, and argmax must carry the index along with the value.
shared ACC pair_val[WG];
shared uint pair_idx[WG];

// Whether (av, ai) replaces (bv, bi): a better value, a NaN over a number (NaN wins, as in torch), or the same
// value at a smaller index (argmax returns the first maximum).
bool pair_beats(ACC av, uint ai, ACC bv, uint bi) {
#ifdef ACC_FLOAT
  if (isnan(bv)) return isnan(av) && ai < bi;
  if (isnan(av)) return true;
#endif
  if (av == bv) return ai < bi;
  return OP == OP_MIN ? av < bv : av > bv;
}

void pair_combine(inout ACC v, inout uint i, ACC ov, uint oi) {
  if (OP == OP_SUM) {
    v += ov;
  } else if (pair_beats(ov, oi, v, i)) {
    v = ov;
    i = oi;
  }
}

void row_reduce_pair(inout ACC v, inout uint i) {
  if (SLICES == 1) return;
  const uint t = gl_LocalInvocationID.x;
  pair_val[t] = v;
  pair_idx[t] = i;
  barrier();
  if (COLS == 1) {  // tree over the whole workgroup
    for (uint s = WG / 2; s > 0; s >>= 1) {
      if (t < s) {
        ACC a = pair_val[t];
        uint ai = pair_idx[t];
        pair_combine(a, ai, pair_val[t + s], pair_idx[t + s]);
        pair_val[t] = a;
        pair_idx[t] = ai;
      }
      barrier();
    }
    v = pair_val[0];
    i = pair_idx[0];
  } else {  // each thread folds its row's SLICES entries
    const uint c = row_in_group();
    v = pair_val[c];
    i = pair_idx[c];
    for (uint s = 1; s < SLICES; ++s) pair_combine(v, i, pair_val[s * COLS + c], pair_idx[s * COLS + c]);
  }
  barrier();
}

void main() {
  const uint split = group_index() % pc.splits;
  const uint row = group_index() / pc.splits * COLS + row_in_group();
  const bool live = row < pc.rows;
  const uint base = live ? strided_offset(row, pc.shape_lo, pc.shape_hi, pc.stride_lo, pc.stride_hi) : 0;
  const uint begin = split * pc.split_len;
  const uint end = live ? min(pc.len, begin + pc.split_len) : begin;
  const uint out_index = row * pc.splits + split;
  const bool writer = live && row_lane() == 0;

#ifdef ACC_FLOAT
  if (OP != OP_ARGMAX) {
    const uint red = OP == OP_MAX ? RED_MAX : (OP == OP_MIN ? RED_MIN : RED_SUM);
    float acc = identity_f(red);
    for (uint r = begin + row_lane(); r < end; r += SLICES) acc = combine_f(acc, LOAD(base + r * pc.stride), red);
    acc = row_reduce(acc, red);
    if (OP == OP_VAR) {  // second pass over the row: squared deviations from the mean (stable, unlike E[x²]-E[x]²)
      const float m = acc / float(pc.len);
      float q = 0.0;
      for (uint r = begin + row_lane(); r < end; r += SLICES) {
        float d = LOAD(base + r * pc.stride) - m;
        q += d * d;
      }
      acc = row_reduce(q, RED_SUM);
    }
    if (OP == OP_MEAN || OP == OP_VAR) acc /= pc.divisor;
    if (writer) STORE(out_index, acc);
    return;
  }
  ACC best = -INF_F;
#else
  ACC best = OP == OP_SUM ? 0l : (OP == OP_MIN ? 0x7fffffffffffffffl : -0x7fffffffffffffffl - 1l);
#endif
  uint best_i = 0xffffffffu;
  for (uint r = begin + row_lane(); r < end; r += SLICES) pair_combine(best, best_i, LOAD(base + r * pc.stride), r);
  row_reduce_pair(best, best_i);
  if (!writer) return;
  if (OP == OP_ARGMAX) BufI64(pc.dst).v[out_index] = int64_t(best_i);
  else STORE(out_index, best);
}
