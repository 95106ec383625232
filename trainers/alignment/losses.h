// Preference-optimisation losses as TRL 1.16 computes them from per-sequence log-probabilities of completions
// (trainers/alignment/logprobs.h): DPO (DPOTrainer: sigmoid, ipo, hinge, robust), SimPO and CPO (CPOTrainer), ORPO
// (ORPOTrainer), KTO (KTOTrainer, unpaired) and the pairwise reward-model loss (RewardTrainer). Every input is a
// (B) f32 tensor on one device; the loss is a 0-d tensor differentiable through the policy's inputs, and the metrics
// are TRL's logged values for the batch.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::train::alignment {

// A loss and the batch's metrics under TRL's names ("rewards/chosen", ...).
struct LossOutput {
  Tensor loss;
  std::map<std::string, double> metrics;
};

enum class DpoLossType { sigmoid, ipo, hinge, robust };
// "sigmoid", "ipo", "hinge" or "robust"; an error naming the choices otherwise.
DpoLossType parse_dpo_loss_type(const std::string& name);

struct DpoOptions {
  DpoLossType loss_type = DpoLossType::sigmoid;
  double beta = 0.1;
  double label_smoothing = 0.0;  // robust only (TRL 1.16 ignores it for the others); in [0, 0.5)
};

// DPOTrainer's loss: chosen/rejected are the policy's summed completion log-probs, ref_* the reference's (frozen
// model, adapters disabled, or precomputed), *_tokens the completion lengths (ipo averages per token). Metrics:
// rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected.
LossOutput dpo_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& ref_chosen, const Tensor& ref_rejected,
                    const Tensor& chosen_tokens, const Tensor& rejected_tokens, const DpoOptions& opts);

struct CpoOptions {
  bool simpo = true;  // loss_type "simpo" (margin gamma / beta) instead of "sigmoid"
  double beta = 0.1;
  double simpo_gamma = 0.5;
  double label_smoothing = 0.0;
  double cpo_alpha = 0.0;  // weight of the chosen NLL (SimPO: 0; CPO: 1)
};

// CPOTrainer's loss. chosen/rejected are the policy's mean completion log-probs for simpo, sums otherwise; `nll`
// the mean cross-entropy of the chosen completions. Metrics: rewards/* (beta * logps) and nll_loss.
LossOutput cpo_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& nll, const CpoOptions& opts);

// ORPOTrainer's loss: nll - mean(beta * log sigmoid(log odds(chosen) - log odds(rejected))) over mean completion
// log-probs. Metrics: rewards/*, log_odds_ratio, log_odds_chosen, nll_loss.
LossOutput orpo_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& nll, double beta);

struct KtoOptions {
  double beta = 0.1;
  double desirable_weight = 1.0, undesirable_weight = 1.0;
};

// KTOTrainer's loss over unpaired rows: logps/ref_logps the summed completion log-probs of each row, `desirable`
// its label, kl_logps/ref_kl_logps those of the mismatched (prompt, completion) pairs that estimate the KL term
// (mean difference, clamped at 0, no gradient). Metrics: kl, rewards/chosen, rewards/rejected (absent without rows).
LossOutput kto_loss(const Tensor& logps, const Tensor& ref_logps, const std::vector<bool>& desirable,
                    const Tensor& kl_logps, const Tensor& ref_kl_logps, const KtoOptions& opts);

// RewardTrainer's loss: mean -log sigmoid(r_chosen - r_rejected - margin) (margin (B) or undefined). Metrics:
// accuracy, margin, mean_reward.
LossOutput reward_loss(const Tensor& chosen_rewards, const Tensor& rejected_rewards, const Tensor& margin = {});

// log sigmoid(x), stable for any x: min(x, 0) - log(1 + exp(-|x|)), written so its gradient is smooth at 0.
Tensor log_sigmoid(const Tensor& x);

}  // namespace glint::train::alignment
