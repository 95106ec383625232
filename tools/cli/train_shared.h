// What the `glint train <method>` commands of TRL's trainers (train_align.cpp, train_grpo.cpp) share: the output
// folder's tokenizer files and the closing report.
#pragma once
#include <cstdio>
#include <filesystem>
#include <string>

#include "trainers/trainer.h"

namespace glint::cli {

// Copies the tokenizer and generation files of model folder `from` into `to`, so the output loads on its own.
inline void copy_tokenizer(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"})
    if (fs::exists(fs::path(from) / f))
      fs::copy_file(fs::path(from) / f, fs::path(to) / f, fs::copy_options::overwrite_existing);
}

// The closing lines: where the run stopped, its last loss and what the output folder holds.
inline void report(const train::TrainResult& r, const train::TrainingArguments& a) {
  std::printf("%s at step %lld: loss %.4f\n%s: metrics.jsonl, loss.svg%s\n", r.interrupted ? "interrupted" : "finished",
              (long long)r.global_step, r.last_loss, a.output_dir.c_str(),
              r.interrupted ? ", a checkpoint to --resume from" : ", model.safetensors, config.json");
}

}  // namespace glint::cli
