// variant: unary_grad_f32 DT=f32
// variant: unary_grad_f16 DT=f16
// variant: unary_grad_bf16 DT=bf16
#version 460
// out = g * OP'(x) over contiguous tensors, in f32: the backward of kernels/unary.comp with torch's derivatives.
// Mirrors UnaryGradPC in runtime/vulkan/elementwise_grad.cpp and the UnaryOp codes of runtime/ops/elementwise.h.
#include "dtype.glsl"
#include "index.glsl"
#include "elementwise_math.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;

const uint NEG = 0, ABS = 1, EXP = 2, LOG = 3, SQRT = 4, RSQRT = 5, TANH = 6, SIGMOID = 7, SILU = 8, GELU = 9,
           GELU_TANH = 10, RELU = 11, CLAMP = 12;

layout(push_constant) uniform PC {
  uint64_t x;
  uint64_t g;
  uint64_t out_;
  uint n;
  float lo;  // clamp bounds (+-inf when absent)
  float hi;
} pc;

#define LOAD CAT3(load_, DT, _f)
#define STORE CAT3(store_, DT, _f)

float derivative(float x) {
  if (OP == NEG) return -1.0;
  if (OP == ABS) return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
  if (OP == EXP) return exp_f(x);
  if (OP == LOG) return 1.0 / x;
  if (OP == SQRT) return 0.5 / sqrt(x);
  if (OP == RSQRT) return -0.5 / (x * sqrt(x));
  if (OP == TANH) {
    float t = tanh_f(x);
    return 1.0 - t * t;
  }
  if (OP == SIGMOID || OP == SILU) {
    float s = 1.0 / (1.0 + exp_f(-x));
    return OP == SIGMOID ? s * (1.0 - s) : s * (1.0 + x * (1.0 - s));
  }
  if (OP == GELU) {
    float cdf = 0.5 * (1.0 + erf_f(x * 0.707106781f));
    return cdf + x * exp_f(-0.5 * x * x) * 0.398942280f;  // 1 / sqrt(2 pi)
  }
  if (OP == GELU_TANH) {
    const float beta = 0.797884561f, kappa = 0.044715f;  // sqrt(2 / pi)
    float t = tanh_f(beta * (x + kappa * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * beta * (1.0 + 3.0 * kappa * x * x);
  }
  if (OP == RELU) return x > 0.0 ? 1.0 : 0.0;
  return x >= pc.lo && x <= pc.hi ? 1.0 : 0.0;
}

void main() {
  uint i = linear_id();
  if (i >= pc.n) return;
  STORE(pc.out_, i, LOAD(pc.g, i) * derivative(LOAD(pc.x, i)));
}
