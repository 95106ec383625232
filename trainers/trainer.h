// The training loop, as transformers' Trainer runs it for a causal LM: batches (with gradient accumulation over
// micro-batches whose loss is normalised by the accumulated batch's target count, as num_items_in_batch does),
// grad-norm clipping, AdamW or SGD with an lr schedule, eval loss and perplexity, JSONL metrics with an SVG loss
// curve beside them, a progress bar on a terminal, and checkpoints written atomically that --resume continues from
// bit for bit (model, optimizer, schedule position and data position). SIGINT saves a checkpoint and stops.
//
//   train::Trainer trainer(*model, args, train_rows, eval_rows, config_json);
//   trainer.train();                        // or train("latest") to resume from output_dir's last checkpoint
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/causal_lm.h"
#include "trainers/batches.h"
#include "trainers/optimizers.h"
#include "trainers/schedules.h"
#include "trainers/training_args.h"

namespace glint::train {

struct TrainResult {
  int64_t global_step = 0;
  double last_loss = 0;                // the last logged training loss
  std::optional<double> eval_loss;     // after the last evaluation
  bool interrupted = false;            // stopped by SIGINT after saving a checkpoint
};

// Training part of a model (a LoRA adapter: peft::LoraModel::parameters) instead of all of its parameters().
struct TrainableParameters {
  std::vector<std::pair<std::string, Tensor>> parameters;  // what the optimizer updates, by name
  // Writes the trained result into the final output folder (peft's adapter files) in place of model.safetensors
  // + config.json. Checkpoints keep the trainer's own files, so --resume works alike.
  std::function<void(const std::string& dir)> save;
};

class Trainer {
 public:
  // `model_config` is the model's config.json, written into every checkpoint and the final model folder.
  // `trainable`, when given, narrows training to its parameters; the rest of the model is left as it is.
  Trainer(CausalLM& model, TrainingArguments args, std::vector<TokenizedRow> train_rows,
          std::vector<TokenizedRow> eval_rows, nlohmann::json model_config, int64_t pad_id = 0,
          std::optional<TrainableParameters> trainable = std::nullopt);

  // Trains to max_steps (or num_train_epochs); `resume_from` is "" (fresh), "latest" (output_dir's newest
  // checkpoint, fresh if none) or a checkpoint folder. Writes output_dir/{metrics.jsonl, loss.svg,
  // checkpoint-N/, config.json, model.safetensors}.
  TrainResult train(const std::string& resume_from = "");
  // Mean loss over the eval rows (no gradients).
  double evaluate();

  // Total optimizer steps of the run.
  int64_t total_steps() const { return total_steps_; }

 private:
  struct Position {
    int64_t step = 0;          // optimizer steps done
    int64_t micro_batches = 0; // micro-batches consumed since the start of training
  };

  std::vector<ParamRef>& params();
  Batch micro_batch(int64_t index) const;  // the index-th micro-batch of the whole run
  double train_step();                     // one optimizer step; returns its mean loss
  void save_checkpoint() const;
  void load_checkpoint(const std::string& dir);
  void save_model(const std::string& dir) const;
  void log(nlohmann::json record);

  CausalLM& model_;
  TrainingArguments args_;
  std::vector<TokenizedRow> train_rows_, eval_rows_;
  nlohmann::json model_config_;
  int64_t pad_id_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::vector<ParamRef> params_;
  std::function<void(const std::string& dir)> save_final_;  // TrainableParameters::save
  int64_t batches_per_epoch_ = 0, total_steps_ = 0;
  Position pos_;
  std::vector<nlohmann::json> history_;
  double last_grad_norm_ = 0;
  int64_t last_tokens_ = 0;
};

// The newest checkpoint-N folder under `output_dir`, or "" when there is none.
std::string latest_checkpoint(const std::string& output_dir);

}  // namespace glint::train
