// What the `glint train <method>` commands (train.cpp, train_align.cpp, train_grpo.cpp) share: the output folder's
// companion files, a LoRA run's adapter files and the closing report.
#pragma once
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "models/peft/lora.h"
#include "tools/cli/model_files.h"
#include "trainers/trainer.h"

namespace glint::cli {

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
