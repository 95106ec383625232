// Per-sequence log-probabilities of completion tokens under a causal LM, the input of every preference loss: for
// input_ids (B, T) and labels (B, T) with -100 outside the completion, position t is scored on labels[:, t + 1]
// (the causal shift), and each row's token log-probs are summed and counted. Chosen and rejected completions go in
// one batch, chosen rows first, as TRL concatenates them.
#pragma once
#include <cstdint>

#include "models/causal_lm.h"

namespace glint::train::alignment {

struct SequenceLogprobs {
  Tensor sum;     // (B) f32 on the model's head device: summed log-probs of the labelled tokens, differentiable
  Tensor tokens;  // (B) f32 on the same device: how many labelled tokens each row has
  // sum / max(tokens, 1): the per-token mean (SimPO, ORPO, IPO).
  Tensor mean() const;
  // The first `n` rows / the rest: chosen and rejected halves of a concatenated batch.
  SequenceLogprobs rows(int64_t begin, int64_t end) const;
};

// Each position's log-prob of its next label under `model` at `temperature` (logits divided by it, as TRL's GRPO
// scores completions): (B, T - 1) f32 on the model's head device, 0 where labels[:, t + 1] is -100. Differentiable.
// With `entropy`, also the entropy of each position's (tempered) next-token distribution, (B, T - 1) f32 without
// gradient, from the same forward pass a block of rows at a time.
Tensor per_token_logprobs(const CausalLM& model, const Tensor& input_ids, const Tensor& labels,
                          const Tensor& attention_mask = {}, double temperature = 1.0, Tensor* entropy = nullptr);

// The log-probs of `labels` under `model`, per_token_logprobs summed per row. Llama-family models go through the fused
// blockwise head (linear_token_logprobs) so the (B*T, V) f32 logits never exist at once; other architectures score
// their logits.
SequenceLogprobs sequence_logprobs(const CausalLM& model, const Tensor& input_ids, const Tensor& labels,
                                   const Tensor& attention_mask = {});

// The mean cross-entropy of labelled tokens over a set of rows (transformers' loss for those rows): -sum / tokens.
Tensor mean_nll(const SequenceLogprobs& lp);

}  // namespace glint::train::alignment
