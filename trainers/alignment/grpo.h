// TRL's GRPOTrainer (1.16) over glint's one training loop. Each generation batch samples num_generations
// completions per prompt with glint's own generation (KV cache, temperature / top-p), scores them with the reward
// functions (rewards.h), turns the weighted rewards into group-normalised advantages, and is then used for
// steps_per_generation micro-batches, num_iterations times over. Each micro-batch's loss is TRL's clipped surrogate
// on per-token ratios to the generating policy (old log-probs), plus beta times the k3 estimate of the KL to the
// reference, aggregated as loss_type says. The loss and its metrics carry TRL's formulas and names.
//
//   GrpoTrainer trainer(*policy, std::nullopt, tok, read_prompt_jsonl(path, tok), {parse_reward("exact_match:answer")},
//                       config, args, policy->parameters(), config_json);
//   trainer.train();
//
// Rows of the Trainer are TRL's sampler slots (prompts x num_generations x num_iterations, per_device_train_batch_size
// completions per micro-batch), so steps and epochs count as TRL's do; the prompts of each generation batch are
// drawn by GrpoTrainer in the order of TRL's RepeatSampler (a seeded permutation per epoch, whole batches only).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "models/tokenizers/tokenizer.h"
#include "trainers/alignment/alignment_trainer.h"
#include "trainers/alignment/losses.h"
#include "trainers/alignment/rewards.h"
#include "trainers/trainer.h"

namespace glint::train::alignment {

// How per-token losses become one number (TRL's loss_type): grpo averages each sequence over its tokens, then the
// sequences; bnpo averages over the micro-batch's tokens; dr_grpo divides the sum by rows x max_completion_length;
// dapo (TRL's default) divides by the generation batch's tokens per micro-batch.
enum class GrpoLossType { grpo, bnpo, dr_grpo, dapo };
GrpoLossType parse_grpo_loss_type(const std::string& name);

// How rewards are scaled into advantages (TRL's scale_rewards): by the std of each prompt's group, of the whole
// generation batch, or not at all (only centred on the group mean).
enum class ScaleRewards { group, batch, none };
ScaleRewards parse_scale_rewards(const std::string& name);

// GRPOConfig's fields, with TRL's names and defaults (max_completion_length excepted: 256 here, 512 in TRL).
struct GrpoConfig {
  int64_t num_generations = 8;          // completions per prompt (>= 2)
  int64_t max_completion_length = 256;  // new tokens per completion
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 0;                   // 0: off
  double beta = 0.0;                   // KL coefficient; 0 needs no reference model
  double epsilon = 0.2;                // lower clipping bound: ratios below 1 - epsilon are clipped
  std::optional<double> epsilon_high;  // upper bound (1 + epsilon_high); unset: epsilon
  int64_t num_iterations = 1;          // optimisation passes over each generation batch (mu)
  int64_t steps_per_generation = 0;    // micro-batches per generation batch; 0: gradient_accumulation_steps
  GrpoLossType loss_type = GrpoLossType::dapo;
  ScaleRewards scale_rewards = ScaleRewards::group;
  std::vector<double> reward_weights;       // one per reward function; empty: all 1
  bool mask_truncated_completions = false;  // completions cut at max_completion_length take no loss
};

// One micro-batch as TRL's _compute_loss receives it: left-padded prompts, then right-padded completions.
struct GrpoBatch {
  Tensor input_ids;        // (B, P + C) i64 on the CPU
  Tensor attention_mask;   // (B, P + C) i64 on the CPU
  Tensor completion_mask;  // (B, C) f32 on the model's head device: 1 on completion tokens that take loss
  Tensor advantages;       // (B) f32 on the same device
  Tensor old_logps;        // (B, C) f32 or undefined: the generating policy's log-probs (undefined: the current's)
  Tensor ref_logps;        // (B, C) f32 or undefined when beta is 0: the reference's log-probs
  double num_items_in_batch = 0;     // completion tokens taking loss in the whole generation batch (dapo)
  int64_t steps_per_generation = 1;  // micro-batches the generation batch is split into (dapo)
  int64_t tokens = 0;                // real tokens the batch runs through the model
};

// The micro-batch of prompts[i] + completions[i] (token ids), padded with pad_id as TRL pads them; the completions
// of rows flagged in `masked` are neither attended nor take loss (TRL's mask_truncated_completions). The advantages,
// old / reference log-probs and dapo counts are the caller's to fill.
GrpoBatch collate_grpo(const std::vector<const std::vector<int64_t>*>& prompts,
                       const std::vector<const std::vector<int64_t>*>& completions, int64_t pad_id, Device device,
                       const std::vector<bool>& masked = {});

// Per-token log-probs of the completion tokens, (B, C) f32 on the model's head device, at `temperature` (TRL scores
// the logits divided by the sampling temperature). Differentiable. With `entropy`, also each completion position's
// entropy (B, C), without gradient.
Tensor completion_logprobs(const CausalLM& model, const GrpoBatch& batch, double temperature,
                           Tensor* entropy = nullptr);

// TRL's GRPOTrainer._compute_loss given the policy's completion log-probs (B, C): the loss of one micro-batch before
// the Trainer's division by gradient_accumulation_steps, and the metrics kl (when beta > 0), clip_ratio/low_mean,
// clip_ratio/high_mean, clip_ratio/region_mean, clip_ratio/low_min, clip_ratio/high_max, and entropy (the masked
// mean of `entropy` (B, C), when given).
LossOutput grpo_loss(const Tensor& logps, const GrpoBatch& batch, const GrpoConfig& config, const Tensor& entropy = {});

// Advantages of a generation batch and TRL's reward metrics.
struct GroupAdvantages {
  std::vector<double> advantages;         // one per completion, groups of num_generations consecutive rows
  std::map<std::string, double> metrics;  // reward, reward_std, frac_reward_zero_std, rewards/<name>/{mean,std}
};

// TRL's sum_then_normalize: the rewards (rewards[completion][function], NaN = not applicable) weighted and summed per
// completion, minus its group's mean, over the group's (or the batch's) std + 1e-4 unless scale_rewards is none. A
// completion no function scored gets advantage 0.
GroupAdvantages group_advantages(const std::vector<std::vector<double>>& rewards, const std::vector<std::string>& names,
                                 const std::vector<double>& weights, int64_t num_generations, ScaleRewards scale);

// A prompt dataset row: the prompt's text and tokens, and the whole row for the reward functions.
struct PromptRow {
  std::string prompt;  // the text (a conversational prompt rendered by the chat template)
  std::vector<int64_t> ids;
  nlohmann::json row;
};

// Rows with a "prompt" (JSON lines, or any format load_dataset reads; other columns are kept for the rewards):
// plain text is tokenised with the tokenizer's special tokens, a list of chat messages through the tokenizer's chat
// template with the generation prompt and no added special tokens, as TRL tokenises prompts. Prompts longer than
// max_prompt_length keep their last tokens (0: all).
std::vector<PromptRow> read_prompt_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_prompt_length = 0);

// The trainer: owns a train::Trainer whose micro-batch loss samples, scores and buffers generation batches.
class GrpoTrainer {
 public:
  // `policy` generates and trains (only the `trainable` parameters update: a LoRA adapter's, or all of them);
  // `ref` is needed when config.beta > 0 (a frozen copy, or the LoRA policy with its adapters disabled).
  // args.per_device_train_batch_size counts completions; per_device_train_batch_size x steps_per_generation must
  // be a multiple of num_generations. `policy`, `ref` and `tokenizer` must outlive the trainer.
  GrpoTrainer(CausalLM& policy, std::optional<Reference> ref, const Tokenizer& tokenizer,
              std::vector<PromptRow> prompts, std::vector<RewardFunction> rewards, GrpoConfig config,
              TrainingArguments args, const nn::ParameterStore& trainable, nlohmann::json model_config);
  GrpoTrainer(const GrpoTrainer&) = delete;  // the Trainer's loss calls back into this object
  GrpoTrainer& operator=(const GrpoTrainer&) = delete;

  // Trains as train::Trainer::train does (resume_from: "", "latest" or a checkpoint folder); a resumed run
  // samples a fresh generation batch first, as TRL does (seeded, so the batch the interrupted run would have had).
  TrainResult train(const std::string& resume_from = "");
  // Optimizer steps of the run.
  int64_t total_steps() const { return trainer_->total_steps(); }

 private:
  RowsLoss micro_batch_loss();
  void generate_batch(int64_t index);  // samples and scores generation batch `index`
  std::vector<size_t> generation_prompts(int64_t index) const;

  CausalLM& policy_;
  std::optional<Reference> ref_;
  const Tokenizer& tokenizer_;
  std::vector<PromptRow> prompts_;
  std::vector<RewardFunction> rewards_;
  GrpoConfig config_;
  TrainingArguments args_;
  int64_t pad_id_ = 0;
  int64_t prompts_per_generation_ = 0;
  int64_t calls_ = 0;              // micro-batches run since the start of training
  std::vector<GrpoBatch> buffer_;  // the current generation batch's micro-batches
  std::map<std::string, double> generation_metrics_;
  std::unique_ptr<Trainer> trainer_;
};

}  // namespace glint::train::alignment
