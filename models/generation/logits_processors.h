// Logits processors and warpers with transformers' semantics (generation/logits_process.py), applied in the order
// transformers' generate applies them: repetition penalty, then when sampling temperature -> top_k -> top_p -> min_p.
// They work on host logits: generation reads the last position's (B, V) f32 logits back every step anyway, and
// one pass over a vocabulary row on the CPU costs microseconds next to a forward pass.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint {

// Every function takes scores (B, V) f32, contiguous, on the CPU, and rewrites them in place; a removed token gets
// -inf. Parameters at their neutral value (penalty 1, temperature 1, top_k 0, top_p 1, min_p 0) leave scores as is.

// RepetitionPenaltyLogitsProcessor: each token in seen[b] (prompt included) has its logit divided by `penalty`
// when positive and multiplied by it when negative.
void apply_repetition_penalty(Tensor& scores, const std::vector<std::vector<int64_t>>& seen, double penalty);
// TemperatureLogitsWarper: scores / temperature (temperature > 0).
void apply_temperature(Tensor& scores, double temperature);
// TopKLogitsWarper: keeps the tokens scoring at least the k-th largest (ties with it kept).
void apply_top_k(Tensor& scores, int64_t top_k, int64_t min_tokens_to_keep = 1);
// TopPLogitsWarper: keeps the smallest set of most likely tokens whose probability sums to at least top_p.
void apply_top_p(Tensor& scores, double top_p, int64_t min_tokens_to_keep = 1);
// MinPLogitsWarper: removes tokens whose probability is below min_p times the most likely token's.
void apply_min_p(Tensor& scores, double min_p, int64_t min_tokens_to_keep = 1);

struct SamplingWarpers {
  double temperature = 1, top_p = 1, min_p = 0;
  int64_t top_k = 0;
};
// temperature -> top_k -> top_p -> min_p, as transformers' _get_logits_processor orders them.
void apply_warpers(Tensor& scores, const SamplingWarpers& w);

}  // namespace glint
