// variant: sgd_f32 GRAD=f32
// variant: sgd_f16 GRAD=f16
// variant: sgd_bf16 GRAD=bf16
#version 460
// One SGD step over a contiguous f32 param (and momentum buffer) from a contiguous gradient of dtype GRAD, in the
// order of torch's single-tensor SGD (see runtime/ops/optim.h); each of its adds with alpha is an fma, as in
// ATen's CPU kernels (exact_fma: a single rounding on every driver).
#include "dtype.glsl"
#include "exact_fma.glsl"
#include "index.glsl"
layout(local_size_x = 256) in;

const uint kFlagDecay = 1u, kFlagMomentum = 2u, kFlagNesterov = 4u, kFlagFirst = 8u;

layout(push_constant) uniform PC {  // mirrors SgdPC in runtime/vulkan/optim.cpp
  uint64_t param, grad, momentum_buf;
  uint n, flags;
  float weight_decay, momentum, one_minus_dampening, neg_lr, grad_scale, inv_grad_scale;
} pc;

void main() {
  uint i = linear_id();
  if (i >= pc.n) return;
  precise float g = CAT3(load_, GRAD, _f)(pc.grad, i);
  g = pc.inv_grad_scale != 0.0 ? g * pc.inv_grad_scale : g / pc.grad_scale;  // see grad_inverse() in optim.h
  precise float p = BufF32(pc.param).v[i];
  if ((pc.flags & kFlagDecay) != 0u) g = exact_fma(pc.weight_decay, p, g);
  if ((pc.flags & kFlagMomentum) != 0u) {
    precise float b = (pc.flags & kFlagFirst) != 0u
                          ? g
                          : exact_fma(pc.one_minus_dampening, g, BufF32(pc.momentum_buf).v[i] * pc.momentum);
    BufF32(pc.momentum_buf).v[i] = b;
    g = (pc.flags & kFlagNesterov) != 0u ? exact_fma(pc.momentum, b, g) : b;
  }
  BufF32(pc.param).v[i] = exact_fma(pc.neg_lr, g, p);
}
