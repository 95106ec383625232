// Alignment datasets and their collation as TRL's collators lay them out: each row prompt + completion,
// right-padded, labels -100 outside the completion; paired batches hold every chosen row, then every rejected row.
// JSONL rows: {"prompt", "chosen", "rejected"} (DPO, ORPO, SimPO, reward) or {"prompt", "completion", "label"}
// (KTO), in TRL's formats: plain text (completions end with the EOS token as TRL appends it), or chat messages
// (lists of {"role", "content"}, rendered with the tokenizer's chat template; optional "tools" and
// "chat_template_kwargs" columns reach the template); without "prompt", chosen and rejected are whole texts or
// conversations whose shared beginning is the prompt (TRL's extract_prompt).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/tokenizers/tokenizer.h"
#include "trainers/batches.h"

namespace glint::train::alignment {

struct PreferenceRow {
  std::vector<int32_t> prompt, chosen, rejected;
};

struct UnpairedRow {
  std::vector<int32_t> prompt, completion;
  bool desirable = true;
};

// Rows of a JSONL file tokenised by `tok` as TRL's DPOTrainer / KTOTrainer do: the prompt alone and prompt +
// completion tokenised whole, the completion being what follows their common prefix. Rows longer than max_length are
// cut from the end of the completion. Errors name the file and line.
std::vector<PreferenceRow> read_preference_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_length);
std::vector<UnpairedRow> read_unpaired_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_length);

// Rows prompts[i] + completions[i], right-padded with pad_id: input_ids, attention_mask, labels (completion only).
Batch collate_completions(const std::vector<const std::vector<int32_t>*>& prompts,
                          const std::vector<const std::vector<int32_t>*>& completions, int64_t pad_id);

// The pairs' chosen rows, then their rejected rows.
Batch collate_pairs(const std::vector<const PreferenceRow*>& rows, int64_t pad_id);

}  // namespace glint::train::alignment
