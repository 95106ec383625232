// TrainingArguments: what a run does, with transformers' names and defaults, read from a JSON file (the same keys
// as transformers' TrainingArguments) and overridden by CLI flags.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace glint::train {

struct TrainingArguments {
  std::string output_dir;
  double num_train_epochs = 3;  // used when max_steps <= 0
  int64_t max_steps = -1;
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  double learning_rate = 5e-5;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  std::string lr_scheduler_type = "linear";
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;  // wins over warmup_ratio when > 0
  int64_t logging_steps = 10;
  int64_t eval_steps = 0;    // 0: evaluate only at the end (when there is an eval set)
  int64_t save_steps = 500;  // 0: save only at the end
  int64_t save_total_limit = 0;  // checkpoints kept (0: all)
  uint64_t seed = 42;
  bool gradient_checkpointing = false;
  // Mixed precision with f32 master weights (autograd::AutocastGuard): bf16, or fp16 with dynamic loss scaling.
  bool bf16 = false, fp16 = false;
  std::string optim = "adamw_torch";  // adamw_torch | sgd
  std::string device;                 // "" = default device

  // Keys of `j` override the defaults; unknown keys are an error naming `where` and the key (a typo must not be
  // silently ignored), except transformers keys glint accepts and ignores (report_to, logging_dir, ...).
  static TrainingArguments from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

}  // namespace glint::train
