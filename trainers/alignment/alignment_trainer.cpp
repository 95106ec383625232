#include "trainers/alignment/alignment_trainer.h"

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
  if (!ref.adapters) return score_frozen(*ref.model, b);
  peft::DisableAdapterGuard base_only(*ref.adapters);
  return score_frozen(policy, b);
}

RowsLoss as_rows_loss(LossOutput out, int64_t tokens) { return {std::move(out.loss), std::move(out.metrics), tokens}; }

}  // namespace

RowsLossFn dpo_rows_loss(const CausalLM& policy, Reference ref, const std::vector<PreferenceRow>& rows,
                         const DpoOptions& opts, int64_t pad_id) {
  return [&policy, ref, &rows, opts, pad_id](const std::vector<size_t>& idx) {
    const Batch b = collate_pairs(pick(rows, idx), pad_id);
    const int64_t n = int64_t(idx.size());
    const SequenceLogprobs lp = score(policy, b);
    const SequenceLogprobs rlp = score_reference(policy, ref, b);
    return as_rows_loss(
        dpo_loss(lp.rows(0, n).sum, lp.rows(n, 2 * n).sum, rlp.rows(0, n).sum.to(lp.sum.device()),
                 rlp.rows(n, 2 * n).sum.to(lp.sum.device()), lp.rows(0, n).tokens, lp.rows(n, 2 * n).tokens, opts),
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
