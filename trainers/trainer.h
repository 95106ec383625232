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
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/causal_lm.h"
#include "trainers/batches.h"
#include "trainers/grad_scaler.h"
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

// What a custom loss returns for one micro-batch: the loss to backpropagate and metrics to log (averaged over the
// micro-batches of a step).
struct RowsLoss {
  Tensor loss;
  std::map<std::string, double> metrics;
  int64_t tokens = 0;  // real tokens the micro-batch ran through the model (for tokens_per_second)
};
// A micro-batch's loss for trainers whose rows are not causal-LM rows (preference pairs, reward pairs): given the
// indices of the micro-batch's rows into the caller's dataset. The trainer divides it by the number of
// micro-batches per step, so the accumulated gradient is that of the step's mean (as transformers' Trainer does
// without num_items_in_batch).
using RowsLossFn = std::function<RowsLoss(const std::vector<size_t>& rows)>;

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
  // The same loop over `num_rows` rows of the caller's own kind, each micro-batch's loss given by `loss`, training
  // every entry of `parameters` (a reward model's, or a policy's). Shuffling, accumulation, clipping, schedules,
  // logging (with the loss's metrics), checkpoints and resuming are those above; there is no eval set.
  Trainer(const nn::ParameterStore& parameters, TrainingArguments args, size_t num_rows, RowsLossFn loss,
          nlohmann::json model_config);

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
  std::vector<size_t> micro_batch_rows(int64_t index) const;  // rows of the index-th micro-batch of the whole run
  Batch micro_batch(int64_t index) const;
  // Parameters, optimizer and schedule (both constructors).
  void setup(const std::vector<std::pair<std::string, Tensor>>& parameters);
  double rows_loss_step();                            // the micro-batches' losses under a RowsLossFn
  double train_step();                     // one optimizer step; returns its mean loss
  double causal_lm_step();                 // the micro-batches' causal-LM losses, backpropagated
  void save_checkpoint() const;
  void load_checkpoint(const std::string& dir);
  void save_model(const std::string& dir) const;
  void log(nlohmann::json record);

  CausalLM* model_ = nullptr;  // null under a RowsLossFn
  RowsLossFn rows_loss_;
  size_t num_rows_ = 0;
  mutable int64_t order_epoch_ = -1;  // the epoch order_ is the data order of
  mutable std::vector<size_t> order_;
  std::map<std::string, double> last_metrics_;
  TrainingArguments args_;
  std::vector<TokenizedRow> train_rows_, eval_rows_;
  nlohmann::json model_config_;
  int64_t pad_id_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  GradScaler scaler_;  // enabled for fp16 only
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
