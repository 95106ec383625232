#include "trainers/alignment/logprobs.h"

#include <algorithm>
#include <vector>

#include "models/llama/llama.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/logits_blocks.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/sequence_logprobs.h"
#include "runtime/ops/softmax.h"

namespace glint::train::alignment {
namespace {

// -sum p log p of each row's softmax, (N) f32, a block of rows at a time so a large vocabulary's logits never exist
// for every row at once.
Tensor row_entropy(const LogitsSource& src) {
  autograd::NoGradGuard no_grad;
  const int64_t n = src.rows(), step = block_rows(0, src.vocab());
  std::vector<Tensor> parts;
  for (int64_t r0 = 0; r0 < n; r0 += step) {
    const Tensor lp = log_softmax(src.block(r0, std::min(n, r0 + step)), 1);
    parts.push_back(neg(sum(exp(lp) * lp, 1)));
  }
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

}  // namespace

Tensor SequenceLogprobs::mean() const { return sum / clamp(tokens, 1.0, std::nullopt); }

SequenceLogprobs SequenceLogprobs::rows(int64_t begin, int64_t end) const {
  return {sum.slice(0, begin, end), tokens.slice(0, begin, end)};
}

Tensor per_token_logprobs(const CausalLM& model, const Tensor& input_ids, const Tensor& labels,
                          const Tensor& attention_mask, double temperature, Tensor* entropy) {
  GLINT_CHECK(input_ids.defined() && input_ids.ndim() == 2 && labels.defined() && labels.shape() == input_ids.shape(),
              "sequence_logprobs", "input_ids and labels must be (B, T) of one shape, got ",
              input_ids.defined() ? shape_str(input_ids.shape()) : "undefined", " and ",
              labels.defined() ? shape_str(labels.shape()) : "undefined");
  GLINT_CHECK(temperature > 0, "sequence_logprobs", "temperature must be positive, got ", temperature);
  const int64_t b = input_ids.dim(0), t = input_ids.dim(1);
  const Tensor shifted = shifted_labels(labels);  // (B * (T - 1)) i64 on the CPU
  Tensor per_token;
  if (const auto* llama = dynamic_cast<const LlamaForCausalLM*>(&model)) {
    const Tensor h = llama->hidden_states(input_ids, attention_mask, {}, nullptr);  // (B, T, C)
    Tensor rows = h.slice(1, 0, t - 1).reshape({-1, h.dim(2)});
    if (temperature != 1.0) rows = rows / temperature;  // the head has no bias: linear(h / T) = logits / T
    const auto& params = model.parameters();
    const bool tied = llama->llama_config().tie_word_embeddings;
    const Tensor& head = params.at(tied ? "model.embed_tokens.weight" : "lm_head.weight");
    per_token = linear_token_logprobs(rows, head, shifted);
    if (entropy) *entropy = row_entropy({{}, rows.detach(), head.detach()}).reshape({b, t - 1});
  } else {
    Tensor logits = model.forward(input_ids, attention_mask, {}, nullptr);  // (B, T, V)
    if (temperature != 1.0) logits = logits / temperature;
    const Tensor rows = logits.slice(1, 0, t - 1).reshape({-1, logits.dim(2)});
    per_token = token_logprobs(rows, shifted);
    if (entropy) *entropy = row_entropy({rows.detach(), {}, {}}).reshape({b, t - 1});
  }
  return per_token.reshape({b, t - 1});
}

SequenceLogprobs sequence_logprobs(const CausalLM& model, const Tensor& input_ids, const Tensor& labels,
                                   const Tensor& attention_mask) {
  const Tensor per_token = per_token_logprobs(model, input_ids, labels, attention_mask);
  const int64_t b = per_token.dim(0), t = per_token.dim(1) + 1;
  std::vector<float> counts(size_t(b), 0.0f);
  const std::vector<int64_t> host = shifted_labels(labels).to_vector<int64_t>();
  for (size_t i = 0; i < host.size(); ++i) counts[i / size_t(t - 1)] += host[i] != -100 ? 1.0f : 0.0f;
  SequenceLogprobs out;
  out.sum = sum(per_token, 1);
  out.tokens = Tensor::from_vector(counts, {b}, DType::f32, out.sum.device());
  return out;
}

Tensor mean_nll(const SequenceLogprobs& lp) {
  const double tokens = double(sum_all(lp.tokens).to_f32()[0]);
  GLINT_CHECK(tokens > 0, "alignment", "no labelled tokens to take the NLL over");
  return neg(sum_all(lp.sum)) / tokens;
}

}  // namespace glint::train::alignment
