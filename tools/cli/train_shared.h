// What the `glint train <method>` commands (train.cpp, train_align.cpp, train_grpo.cpp) share: the output folder's
// companion files, a LoRA run's adapter files and the closing report.
#pragma once
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "models/peft/lora.h"
#include "tools/cli/model_files.h"
#include "trainers/trainer.h"

namespace glint::cli {

// The training-loop flags every TRL-style `glint train` command shares (TrainingArguments' fields).
struct LoopFlags {
  std::string output, device, resume;
  double epochs = 1;
  int64_t max_steps = -1, batch_size = 4, grad_accum = 1, logging_steps = 10, save_steps = 0, save_total_limit = 0;
  uint64_t seed = 42;
};

// Registers LoopFlags' options on `cmd`: --output (required), --max-steps, --epochs, --batch-size, --grad-accum,
// --logging-steps, --save-steps, --save-total-limit, --seed, --device, --resume.
inline void add_loop_options(CLI::App* cmd, LoopFlags& f, const char* batch_help, const char* seed_help) {
  cmd->add_option("--output", f.output, "Output folder (checkpoints, metrics.jsonl, loss.svg, final model)")
      ->required();
  cmd->add_option("--max-steps", f.max_steps, "max_steps (wins over --epochs)");
  cmd->add_option("--epochs", f.epochs, "num_train_epochs");
  cmd->add_option("--batch-size", f.batch_size, batch_help);
  cmd->add_option("--grad-accum", f.grad_accum, "gradient_accumulation_steps");
  cmd->add_option("--logging-steps", f.logging_steps, "log metrics every N steps");
  cmd->add_option("--save-steps", f.save_steps, "save a checkpoint every N steps (0: at the end)");
  cmd->add_option("--save-total-limit", f.save_total_limit, "keep only the newest N checkpoints (0: all)");
  cmd->add_option("--seed", f.seed, seed_help);
  cmd->add_option("--device", f.device, "cpu, vulkan or vulkan:N");
  cmd->add_option("--resume", f.resume, "'latest' or a checkpoint folder");
}

// TrainingArguments of LoopFlags at `learning_rate`.
inline train::TrainingArguments training_args(const LoopFlags& f, double learning_rate) {
  train::TrainingArguments a;
  a.output_dir = f.output;
  a.max_steps = f.max_steps;
  a.num_train_epochs = f.epochs;
  a.per_device_train_batch_size = f.batch_size;
  a.gradient_accumulation_steps = f.grad_accum;
  a.logging_steps = f.logging_steps;
  a.save_steps = f.save_steps;
  a.save_total_limit = f.save_total_limit;
  a.seed = f.seed;
  a.device = f.device;
  a.learning_rate = learning_rate;
  return a;
}

// The output folder of a finished run: the model folder's tokenizer and generation files, and with LoRA peft's
// adapter files in place of the Trainer's model.safetensors (which holds the adapter under in-memory names).
inline void finish_output(const std::string& model_dir, const std::string& out, const peft::LoraModel* lora) {
  copy_companion_files(model_dir, out);
  if (!lora) return;
  std::filesystem::remove(std::filesystem::path(out) / "model.safetensors");
  lora->save_adapter(out);
}

// The closing lines: where the run stopped, its last (and eval) loss and what the output folder holds.
inline void report(const train::TrainResult& r, const train::TrainingArguments& a, bool adapter) {
  std::printf("%s at step %lld: loss %.4f", r.interrupted ? "interrupted" : "finished", (long long)r.global_step,
              r.last_loss);
  if (r.eval_loss) std::printf(", eval loss %.4f (perplexity %.2f)", *r.eval_loss, std::exp(*r.eval_loss));
  std::printf("\n%s: metrics.jsonl, loss.svg%s\n", a.output_dir.c_str(),
              r.interrupted ? ", a checkpoint to --resume from"
              : adapter     ? ", adapter_config.json, adapter_model.safetensors"
                            : ", model.safetensors, config.json");
}

}  // namespace glint::cli
