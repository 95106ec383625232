// Log-probabilities of given tokens under a vocabulary distribution, the quantity preference losses (DPO, KTO,
// ORPO, SimPO) are built from: log softmax(logits)[label] per row, 0 where the label is ignored. Computed a block of
// rows at a time, fused with the LM head when given hidden states, so a large vocabulary's f32 logits never exist for
// the whole batch; backward recomputes each block (as linear_cross_entropy does).
#pragma once
#include <cstdint>

#include "runtime/core/tensor.h"

namespace glint {

struct TokenLogprobOptions {
  int64_t ignore_index = -100;  // rows with this label give 0 and take no gradient
  int64_t chunk_rows = 0;       // rows per block; 0 picks one so a block's f32 logits take about 64 MiB
};

// log_softmax(logits)[i, labels[i]] for logits (N, V) (f32 / f16 / bf16, computed in f32) and labels (N) (i32 / i64,
// any device): (N) f32 on the logits' device, 0 at ignored rows. Differentiable with respect to the logits.
Tensor token_logprobs(const Tensor& logits, const Tensor& labels, const TokenLogprobOptions& opts = {});

// token_logprobs(linear(hidden, weight), labels) for hidden (N, C) and an LM head weight (V, C), holding one block
// of logits at a time. Differentiable with respect to hidden and weight.
Tensor linear_token_logprobs(const Tensor& hidden, const Tensor& weight, const Tensor& labels,
                             const TokenLogprobOptions& opts = {});

}  // namespace glint
