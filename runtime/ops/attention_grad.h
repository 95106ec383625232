// The gradient of scaled_dot_product_attention (runtime/ops/attention.h), recorded when q, k or v requires grad.
#pragma once
#include "runtime/autograd/autograd.h"
#include "runtime/ops/attention.h"

namespace glint {

// Attention of q, k, v as scaled_dot_product_attention computes it, recorded for backward. The backward recomputes
// the probabilities P = softmax(q k^T * scale + mask) in f32 from the saved inputs and returns
// dq = dS k * scale, dk = dS^T q * scale, dv = P^T dO with dS = P (dP - rowsum(dO O)), dP = dO v^T (summed over the
// query heads that share a kv head): with the fused kernel where the device has one, else attention_grad_composite.
Tensor attention_with_grad(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts);

// The backward above written with ops, so it runs on every backend (and is the fused kernel's test oracle): {dq, dk,
// dv} in the dtypes of q, k, v, for the forward's output o and its gradient g. Holds (B, Hq, Tq, Tk) f32 scores.
autograd::Grads attention_grad_composite(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                                         const Tensor& g, const AttentionOptions& opts);

// What the fused backward kernels receive: the forward's arguments as attention_args normalises them, f32 (q, k, v,
// mask; `fwd.out` holds the forward's output o), the output's gradient g (f32, contiguous like o), and the f32
// contiguous results dq (B, Hq, Tq, D) and, per query head before the sum over the heads sharing a kv head,
// dk (B, Hq, Tk, D) and dv (B, Hq, Tk, Dv).
struct AttentionGradArgs {
  AttentionArgs fwd;
  Tensor g, dq, dk, dv;
};
inline OpTable<void(const AttentionGradArgs& args)> attention_grad_kernel("scaled_dot_product_attention_backward");

}  // namespace glint
