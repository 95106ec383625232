// The per-micro-batch losses of TRL's alignment trainers over glint's one training loop: each function returns a
// train::RowsLossFn for train::Trainer(parameters, args, rows.size(), loss, config) that collates the micro-batch's
// rows as TRL does, scores them (policy with gradient, reference without) and applies the loss of losses.h.
//
//   auto loss = alignment::dpo_rows_loss(*policy, ref.get(), rows, dpo_options, pad_id);
//   train::Trainer trainer(policy->parameters(), args, rows.size(), loss, config_json);
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/causal_lm.h"
#include "models/llama/sequence_classification.h"
#include "models/peft/lora.h"
#include "trainers/alignment/losses.h"
#include "trainers/alignment/preference_data.h"
#include "trainers/trainer.h"

namespace glint::train::alignment {

// The reference's summed completion log-probs of every pair, scored once before training (TRL's
// precompute_ref_log_probs): by row index, chosen then rejected.
using PrecomputedLogprobs = std::vector<std::pair<double, double>>;

// Where reference log-probs come from, scored without gradient: a frozen model (a second copy), or with LoRA the
// policy itself inside peft::DisableAdapterGuard, the base model with no second copy in memory (TRL's PEFT path), or
// log-probs precomputed by one of those (DPO only), after which no reference model need stay in memory.
struct Reference {
  Reference(const CausalLM& frozen) : model(&frozen) {}                        // NOLINT: implicit on purpose
  Reference(peft::LoraModel& policy_adapters) : adapters(&policy_adapters) {}  // NOLINT
  Reference(std::shared_ptr<const PrecomputedLogprobs> logprobs) : precomputed(std::move(logprobs)) {}  // NOLINT
  const CausalLM* model = nullptr;
  peft::LoraModel* adapters = nullptr;
  std::shared_ptr<const PrecomputedLogprobs> precomputed;
};

// The reference's log-probs of every pair of `rows`, `batch_size` pairs at a time, without gradient (`policy` is
// the model whose adapters a LoRA reference disables).
std::shared_ptr<const PrecomputedLogprobs> precompute_reference_logprobs(const CausalLM& policy, const Reference& ref,
                                                                         const std::vector<PreferenceRow>& rows,
                                                                         int64_t pad_id, int64_t batch_size);

// DPOTrainer over the pairs `rows`.
RowsLossFn dpo_rows_loss(const CausalLM& policy, Reference ref, const std::vector<PreferenceRow>& rows,
                         const DpoOptions& opts, int64_t pad_id);

// CPOTrainer (SimPO with opts.simpo): mean completion log-probs, no reference.
RowsLossFn cpo_rows_loss(const CausalLM& policy, const std::vector<PreferenceRow>& rows, const CpoOptions& opts,
                         int64_t pad_id);

// ORPOTrainer: the chosen NLL minus beta times the mean log-sigmoid of the log odds ratio, no reference.
RowsLossFn orpo_rows_loss(const CausalLM& policy, const std::vector<PreferenceRow>& rows, double beta, int64_t pad_id);

// KTOTrainer: unpaired rows; the KL term from each row's prompt with the previous row's completion (cycled within
// the micro-batch, which needs at least two rows), under the policy and the reference, without gradient.
RowsLossFn kto_rows_loss(const CausalLM& policy, Reference ref, const std::vector<UnpairedRow>& rows,
                         const KtoOptions& opts, int64_t pad_id);

// RewardTrainer: scores of prompt + chosen and prompt + rejected (whole rows, padded with the model's pad id).
RowsLossFn reward_rows_loss(const LlamaForSequenceClassification& model, const std::vector<PreferenceRow>& rows,
                            int64_t pad_id);

}  // namespace glint::train::alignment
