// variant: adamw_f32 GRAD=f32
// variant: adamw_f16 GRAD=f16
// variant: adamw_bf16 GRAD=bf16
#version 460
// One AdamW step over contiguous f32 param / exp_avg / exp_avg_sq from a contiguous gradient of dtype GRAD, with
// the operations of torch's single-tensor AdamW in its order (see runtime/ops/optim.h). The f32 scalars arrive
// already rounded by the host. exact_fma() where torch's CPU kernels fuse (lerp, addcmul); `precise` keeps the driver
// from fusing anything else.
#include "dtype.glsl"
#include "exact_fma.glsl"
#include "index.glsl"
layout(local_size_x = 256) in;

const uint kFlagDecay = 1u, kFlagSmallWeight = 2u;

layout(push_constant) uniform PC {  // mirrors AdamWPC in runtime/vulkan/optim.cpp
  uint64_t param, grad, exp_avg, exp_avg_sq;
  uint n, flags;
  float decay, lerp_weight, beta2, one_minus_beta2, bias_correction2_sqrt, neg_step_size, eps, grad_scale, inv_grad_scale;
} pc;

void main() {
  uint i = linear_id();
  if (i >= pc.n) return;
  precise float g = CAT3(load_, GRAD, _f)(pc.grad, i);
  g = pc.inv_grad_scale != 0.0 ? g * pc.inv_grad_scale : g / pc.grad_scale;  // see grad_inverse() in optim.h
  precise float p = BufF32(pc.param).v[i];
  if ((pc.flags & kFlagDecay) != 0u) p = p * pc.decay;
  precise float m = BufF32(pc.exp_avg).v[i];
  precise float diff = g - m;
  // at::lerp: exact_fma(w, end - self, self) for w < 0.5, exact_fma(w - 1, end - self, end) otherwise
  if ((pc.flags & kFlagSmallWeight) != 0u)
    m = exact_fma(pc.lerp_weight, diff, m);
  else
    m = exact_fma(pc.lerp_weight - 1.0, diff, g);
  precise float v = exact_fma(pc.one_minus_beta2 * g, g, BufF32(pc.exp_avg_sq).v[i] * pc.beta2);
  precise float denom = sqrt(v) / pc.bias_correction2_sqrt + pc.eps;
  BufF32(pc.param).v[i] = p + pc.neg_step_size * m / denom;
  BufF32(pc.exp_avg).v[i] = m;
  BufF32(pc.exp_avg_sq).v[i] = v;
}
