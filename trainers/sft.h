// SFTTrainer's data side (TRL): rows in one of its dataset formats tokenised into ids and labels.
//   "text"                   language modelling on the whole text;
//   "prompt" + "completion"  the prompt followed by the completion; loss on completion tokens only when
//                            completion_only_loss (TRL's default for this format);
//   "messages"               a conversation rendered with the tokenizer's chat template; loss on the assistant
//                            turns only when assistant_only_loss.
// Each row ends with the EOS token (when the tokenizer has one and the text does not already end with it).
#pragma once
#include <cstdint>
#include <string>

#include "models/tokenizers/tokenizer.h"
#include "trainers/datasets/dataset.h"
#include "trainers/datasets/tokenized.h"

namespace glint::train {

enum class SftFormat { text, prompt_completion, messages };

struct SftOptions {
  bool completion_only_loss = true;
  bool assistant_only_loss = false;
  int64_t max_length = 1024;  // rows are truncated to this many tokens (TRL's max_length); 0 = no limit
  std::string text_column = "text";
};

// The format of `ds` from its columns; "[sft] ..." naming the columns found when none fits.
SftFormat detect_sft_format(const datasets::Dataset& ds, const SftOptions& options);
// The cache key part that names this function and its options.
datasets::Value sft_options_json(SftFormat format, const SftOptions& options);
// Tokenises rows of `format` (the tokenizer is copied).
datasets::TokenizeFn sft_tokenize_fn(const Tokenizer& tokenizer, SftFormat format, const SftOptions& options);

}  // namespace glint::train
