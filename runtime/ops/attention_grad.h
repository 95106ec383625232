// The gradient of scaled_dot_product_attention (runtime/ops/attention.h), recorded when q, k or v requires grad.
#pragma once
#include "runtime/ops/attention.h"

namespace glint {

// Attention of q, k, v as scaled_dot_product_attention computes it, recorded for backward. The backward recomputes
// the probabilities P = softmax(q k^T * scale + mask) in f32 from the saved inputs and returns
// dq = dS k * scale, dk = dS^T q * scale, dv = P^T dO with dS = P (dP - rowsum(dO O)), dP = dO v^T (summed over the
// query heads that share a kv head): ops only, so it runs on every backend; it holds (B, Hq, Tq, Tk) f32 scores.
Tensor attention_with_grad(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts);

}  // namespace glint
