#include "trainers/alignment/alignment_trainer.h"

#include <algorithm>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "trainers/alignment/logprobs.h"

namespace glint::train::alignment {
namespace {

std::vector<const PreferenceRow*> pick(const std::vector<PreferenceRow>& rows, const std::vector<size_t>& idx) {
  std::vector<const PreferenceRow*> out;
  for (size_t i : idx) out.push_back(&rows.at(i));
  return out;
}

SequenceLogprobs score(const CausalLM& model, const Batch& b) {
  return sequence_logprobs(model, b.input_ids, b.labels, b.attention_mask);
}

SequenceLogprobs score_frozen(const CausalLM& model, const Batch& b) {
  autograd::NoGradGuard no_grad;
  return score(model, b);
}

// The reference's log-probs of `b`, on the policy's device.
SequenceLogprobs score_reference(const CausalLM& policy, const Reference& ref, const Batch& b) {
  GLINT_CHECK(!ref.precomputed, "alignment", "this trainer scores its reference live: precomputed log-probs are DPO's");
  if (!ref.adapters) return score_frozen(*ref.model, b);
  peft::DisableAdapterGuard base_only(*ref.adapters);
  return score_frozen(policy, b);
}

RowsLoss as_rows_loss(LossOutput out, int64_t tokens) { return {std::move(out.loss), std::move(out.metrics), tokens}; }

}  // namespace

std::shared_ptr<const PrecomputedLogprobs> precompute_reference_logprobs(const CausalLM& policy, const Reference& ref,
                                                                         const std::vector<PreferenceRow>& rows,
                                                                         int64_t pad_id, int64_t batch_size) {
  GLINT_CHECK(batch_size > 0, "dpo", "precomputing reference log-probs needs a batch size > 0, got ", batch_size);
  auto out = std::make_shared<PrecomputedLogprobs>();
  for (size_t begin = 0; begin < rows.size(); begin += size_t(batch_size)) {
    std::vector<size_t> idx;
    for (size_t i = begin; i < std::min(rows.size(), begin + size_t(batch_size)); ++i) idx.push_back(i);
    const std::vector<float> sums = score_reference(policy, ref, collate_pairs(pick(rows, idx), pad_id)).sum.to_f32();
    for (size_t i = 0; i < idx.size(); ++i) out->emplace_back(sums[i], sums[idx.size() + i]);
  }
  return out;
}

RowsLossFn dpo_rows_loss(const CausalLM& policy, Reference ref, const std::vector<PreferenceRow>& rows,
                         const DpoOptions& opts, int64_t pad_id) {
  GLINT_CHECK(!ref.precomputed || ref.precomputed->size() == rows.size(), "dpo", "precomputed reference log-probs of ",
              ref.precomputed ? ref.precomputed->size() : 0, " pairs for ", rows.size(), " pairs");
  return [&policy, ref, &rows, opts, pad_id](const std::vector<size_t>& idx) {
    const Batch b = collate_pairs(pick(rows, idx), pad_id);
    const int64_t n = int64_t(idx.size());
    const SequenceLogprobs lp = score(policy, b);
    Tensor ref_chosen, ref_rejected;
    if (ref.precomputed) {
      std::vector<float> c, r;
      for (size_t i : idx)
        c.push_back(float((*ref.precomputed)[i].first)), r.push_back(float((*ref.precomputed)[i].second));
      ref_chosen = Tensor::from_vector(c, {n}, DType::f32, lp.sum.device());
      ref_rejected = Tensor::from_vector(r, {n}, DType::f32, lp.sum.device());
    } else {
      const SequenceLogprobs rlp = score_reference(policy, ref, b);
      ref_chosen = rlp.rows(0, n).sum.to(lp.sum.device());
      ref_rejected = rlp.rows(n, 2 * n).sum.to(lp.sum.device());
    }
    return as_rows_loss(dpo_loss(lp.rows(0, n).sum, lp.rows(n, 2 * n).sum, ref_chosen, ref_rejected,
                                 lp.rows(0, n).tokens, lp.rows(n, 2 * n).tokens, opts),
                        b.tokens);
  };
}

RowsLossFn cpo_rows_loss(const CausalLM& policy, const std::vector<PreferenceRow>& rows, const CpoOptions& opts,
                         int64_t pad_id) {
  return [&policy, &rows, opts, pad_id](const std::vector<size_t>& idx) {
    const int64_t n = int64_t(idx.size());
    const Batch b = collate_pairs(pick(rows, idx), pad_id);
    const SequenceLogprobs lp = score(policy, b);
    const SequenceLogprobs chosen = lp.rows(0, n), rejected = lp.rows(n, 2 * n);
    // SimPO compares per-token means; CPO's sigmoid loss compares sums.
    const Tensor c = opts.simpo ? chosen.mean() : chosen.sum, r = opts.simpo ? rejected.mean() : rejected.sum;
    return as_rows_loss(cpo_loss(c, r, mean_nll(chosen), opts), b.tokens);
  };
}

RowsLossFn orpo_rows_loss(const CausalLM& policy, const std::vector<PreferenceRow>& rows, double beta, int64_t pad_id) {
  return [&policy, &rows, beta, pad_id](const std::vector<size_t>& idx) {
    const int64_t n = int64_t(idx.size());
    const Batch b = collate_pairs(pick(rows, idx), pad_id);
    const SequenceLogprobs lp = score(policy, b);
    const SequenceLogprobs chosen = lp.rows(0, n), rejected = lp.rows(n, 2 * n);
    return as_rows_loss(orpo_loss(chosen.mean(), rejected.mean(), mean_nll(chosen), beta), b.tokens);
  };
}

RowsLossFn kto_rows_loss(const CausalLM& policy, Reference ref, const std::vector<UnpairedRow>& rows,
                         const KtoOptions& opts, int64_t pad_id) {
  return [&policy, ref, &rows, opts, pad_id](const std::vector<size_t>& idx) {
    GLINT_CHECK(idx.size() > 1, "kto",
                "a micro-batch of one row makes the KL term equal the reward: use a batch "
                "size above 1");
    std::vector<const std::vector<int32_t>*> prompts, completions, kl_completions;
    std::vector<bool> desirable;
    for (size_t k = 0; k < idx.size(); ++k) {
      const UnpairedRow& r = rows.at(idx[k]);
      prompts.push_back(&r.prompt);
      completions.push_back(&r.completion);
      kl_completions.push_back(&rows.at(idx[(k + idx.size() - 1) % idx.size()]).completion);
      desirable.push_back(r.desirable);
    }
    const Batch b = collate_completions(prompts, completions, pad_id);
    const Batch kl = collate_completions(prompts, kl_completions, pad_id);
    const SequenceLogprobs lp = score(policy, b);
    const Device d = lp.sum.device();
    const Tensor ref_lp = score_reference(policy, ref, b).sum.to(d);
    const Tensor kl_lp = score_frozen(policy, kl).sum, ref_kl_lp = score_reference(policy, ref, kl).sum.to(d);
    return as_rows_loss(kto_loss(lp.sum, ref_lp, desirable, kl_lp, ref_kl_lp, opts), b.tokens);
  };
}

RowsLossFn reward_rows_loss(const LlamaForSequenceClassification& model, const std::vector<PreferenceRow>& rows,
                            int64_t pad_id) {
  return [&model, &rows, pad_id](const std::vector<size_t>& idx) {
    const int64_t n = int64_t(idx.size());
    const Batch b = collate_pairs(pick(rows, idx), pad_id);
    const Tensor rewards = model.forward(b.input_ids, b.attention_mask).reshape({2 * n});
    return as_rows_loss(reward_loss(rewards.slice(0, 0, n), rewards.slice(0, n, 2 * n)), b.tokens);
  };
}

}  // namespace glint::train::alignment
