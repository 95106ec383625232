#include "trainers/training_args.h"

#include <set>

#include "runtime/core/error.h"

namespace glint::train {
namespace {

// transformers arguments with no effect here (logging integrations, hub uploads, dataloader workers).
const std::set<std::string> kIgnored = {"report_to",      "logging_dir",       "push_to_hub",  "hub_model_id",
                                        "run_name",       "dataloader_num_workers", "overwrite_output_dir",
                                        "do_train",       "do_eval",           "eval_strategy", "save_strategy",
                                        "logging_strategy", "disable_tqdm",    "remove_unused_columns"};

}  // namespace

#define GLINT_TRAINING_ARGS(X)                                                                                     \
  X(output_dir) X(num_train_epochs) X(max_steps) X(per_device_train_batch_size) X(per_device_eval_batch_size)     \
  X(gradient_accumulation_steps) X(learning_rate) X(weight_decay) X(adam_beta1) X(adam_beta2) X(adam_epsilon)     \
  X(max_grad_norm) X(lr_scheduler_type) X(warmup_ratio) X(warmup_steps) X(logging_steps) X(eval_steps)            \
  X(save_steps) X(save_total_limit) X(seed) X(gradient_checkpointing) X(bf16) X(fp16) X(optim) X(device)

TrainingArguments TrainingArguments::from_json(const nlohmann::json& j, const std::string& where) {
  GLINT_CHECK(j.is_object(), "train", where, ": training arguments must be a JSON object");
  TrainingArguments a;
  std::set<std::string> known;
#define GLINT_READ(name)                                                                                          \
  known.insert(#name);                                                                                            \
  if (j.contains(#name)) {                                                                                        \
    try {                                                                                                         \
      j.at(#name).get_to(a.name);                                                                                 \
    } catch (const nlohmann::json::exception& e) {                                                                \
      fail("train", where, ": ", #name, ": ", e.what());                                                          \
    }                                                                                                             \
  }
  GLINT_TRAINING_ARGS(GLINT_READ)
#undef GLINT_READ
  for (const auto& [key, value] : j.items())
    GLINT_CHECK(known.count(key) || kIgnored.count(key), "train", where, ": unknown training argument '", key, "'");
  GLINT_CHECK(a.per_device_train_batch_size > 0 && a.gradient_accumulation_steps > 0, "train", where,
              ": batch size and gradient_accumulation_steps must be positive");
  GLINT_CHECK(a.max_steps > 0 || a.num_train_epochs > 0, "train", where,
              ": set max_steps or num_train_epochs to a positive value");
  GLINT_CHECK(!(a.bf16 && a.fp16), "train", where, ": bf16 and fp16 are exclusive");
  return a;
}

nlohmann::json TrainingArguments::to_json() const {
  nlohmann::json j;
#define GLINT_WRITE(name) j[#name] = name;
  GLINT_TRAINING_ARGS(GLINT_WRITE)
#undef GLINT_WRITE
  return j;
}

}  // namespace glint::train
