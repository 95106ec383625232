// variant: softmax_f32 DT=f32
// variant: softmax_f16 DT=f16
// variant: softmax_bf16 DT=bf16
#version 460
// Softmax / log-softmax of each row of x (the kept dims, any strides) along one strided dim, in f32.
// Two passes over the row: an online max-and-sum (each thread rescales its running sum when its max grows, then
// the threads' sums are rescaled to the row max), and the output pass. The output is contiguous in x's shape.
#include "dtype.glsl"
#include "index.glsl"
#include "reduce_rows.glsl"

layout(constant_id = 0) const uint LOG = 0;  // 1: log_softmax

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t dst;
  uint rows;
  uint len;
  uint stride;  // input element stride along the row
  uint inner;   // output: product of the dims after the softmax dim (its stride)
  uvec4 shape_lo, shape_hi;  // kept dims of the input
  uvec4 stride_lo, stride_hi;
} pc;

#define LOAD(i) CAT3(load_, DT, _f)(pc.x, i)
#define STORE(i, v) CAT3(store_, DT, _f)(pc.dst, i, v)

void main() {
  const uint row = group_index() * COLS + row_in_group();
  const bool live = row < pc.rows;
  const uint base = live ? strided_offset(row, pc.shape_lo, pc.shape_hi, pc.stride_lo, pc.stride_hi) : 0;
  const uint out_base = row / pc.inner * pc.len * pc.inner + row % pc.inner;
  const uint end = live ? pc.len : 0;

  float m = -INF_F, s = 0.0;
  for (uint r = row_lane(); r < end; r += SLICES) {
    const float v = LOAD(base + r * pc.stride);
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else if (m != -INF_F || isnan(v)) {  // -inf after only -inf adds nothing (exp(-inf + inf) would be NaN)
      s += exp(v - m);
    }
  }
  const float row_max = row_reduce(m, RED_MAX);
  // A row of only -inf keeps s == 0 and row_max == -inf, and comes out NaN below, as in torch.
  const float total = row_reduce(s > 0.0 ? s * exp(m - row_max) : s, RED_SUM);
  const float log_total = log(total), inv_total = 1.0 / total;
  for (uint r = row_lane(); r < end; r += SLICES) {
    const float v = LOAD(base + r * pc.stride) - row_max;
    STORE(out_base + r * pc.inner, LOG == 1 ? v - log_total : exp(v) * inv_total);
  }
}
