// variant: unary_f32 DT=f32 FLOAT=1
// variant: unary_f16 DT=f16 FLOAT=1
// variant: unary_bf16 DT=bf16 FLOAT=1
// variant: unary_i32 DT=i32 FLOAT=0
// variant: unary_i64 DT=i64 FLOAT=0
// variant: unary_u8 DT=u8 FLOAT=0
// variant: unary_i8 DT=i8 FLOAT=0
#version 460
// out = OP(x) for strided x. Floating dtypes compute in f32 with the formulas torch uses; integer dtypes support
// neg, abs, relu and clamp in int64. Mirrors UnaryPC in runtime/vulkan/elementwise.cpp and the UnaryOp codes of
// runtime/ops/elementwise.h.
#include "dtype.glsl"
#include "index.glsl"
#include "elementwise_index.glsl"
#include "elementwise_math.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;

const uint NEG = 0, ABS = 1, EXP = 2, LOG = 3, SQRT = 4, RSQRT = 5, TANH = 6, SIGMOID = 7, SILU = 8, GELU = 9,
           GELU_TANH = 10, RELU = 11, CLAMP = 12;

const uint FLAG_VEC4 = 1u;  // contiguous and 4-element aligned: one thread per 4 elements

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t out_;
  int64_t lo_i;  // clamp bounds for integer dtypes
  int64_t hi_i;
  uint n;
  uint flags;  // FLAG_* in bits 0-7, coalesced ndim (1-8) in bits 8-11
  float lo_f;  // clamp bounds for floating dtypes (+-inf when absent)
  float hi_f;
  uvec4 shape_lo, shape_hi;
  uvec4 x_stride_lo, x_stride_hi;
} pc;

#if FLOAT
#define VAL float
#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

float apply(float x) {
  if (OP == NEG) return -x;
  if (OP == ABS) return abs(x);
  if (OP == EXP) return exp_f(x);
  if (OP == LOG) return log_f(x);
  if (OP == SQRT) return sqrt(x);
  if (OP == RSQRT) return inversesqrt(x);
  if (OP == TANH) return tanh_f(x);
  if (OP == SIGMOID) return 1.0 / (1.0 + exp_f(-x));
  if (OP == SILU) return x / (1.0 + exp_f(-x));
  if (OP == GELU) return x * 0.5 * (1.0 + erf_f(x * 0.707106781f));
  if (OP == GELU_TANH) {
    float inner = 0.797884561f * (x + 0.044715 * (x * x * x));  // sqrt(2 / pi)
    return 0.5 * x * (1.0 + tanh_f(inner));
  }
  // relu and clamp let NaN through, as torch does. The explicit test is needed: NVIDIA's compiler turns a bare
  // `x < 0 ? 0 : x` into max(), which returns 0 for NaN (seen on an H200).
  if (isnan(x)) return x;
  if (OP == RELU) return x < 0.0 ? 0.0 : x;
  return x < pc.lo_f ? pc.lo_f : (x > pc.hi_f ? pc.hi_f : x);
}
#else
#define VAL int64_t
#define LOAD CAT3(load_, DT, _i)
#define STORE CAT3(store_, DT, _i)

int64_t apply(int64_t x) {
  if (OP == NEG) return -x;
  if (OP == ABS) return abs(x);
  if (OP == RELU) return max(x, int64_t(0));
  return min(max(x, pc.lo_i), pc.hi_i);
}
#endif

void main() {
  uint t = linear_id();
#if FLOAT
  if ((pc.flags & FLAG_VEC4) != 0) {
    uint i = t * 4;
    if (i >= pc.n) return;
    if (i + 4 > pc.n) {  // the tail of a size that is not a multiple of 4
      for (; i < pc.n; ++i) STORE(pc.out_, i, apply(LOAD(pc.x, i)));
      return;
    }
    vec4 v = CAT2(load4_, DT)(pc.x, t);
    CAT2(store4_, DT)(pc.out_, t, vec4(apply(v.x), apply(v.y), apply(v.z), apply(v.w)));
    return;
  }
#endif
  if (t >= pc.n) return;
  uint off = strided_offsets2(t, (pc.flags >> 8) & 15u, pc.shape_lo, pc.shape_hi, pc.x_stride_lo, pc.x_stride_hi,
                              pc.x_stride_lo, pc.x_stride_hi).x;
  STORE(pc.out_, t, apply(LOAD(pc.x, off)));
}
