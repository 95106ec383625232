// Autoregressive generation over any CausalLM, as transformers' generate() does it for decoder-only models: a
// preallocated KV cache, batched prompts left-padded with an attention mask and positions cumsum(mask) - 1, one
// prefill then one token per step, each sequence finishing on its own (eos id or stop string), greedy or seeded
// sampling, and a streaming callback with the text as it becomes stable.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "models/tokenizers/tokenizer.h"
#include "runtime/io/hf_configs.h"

namespace glint {

struct GenerationOptions {
  int64_t max_new_tokens = 32;
  bool do_sample = false;  // false: greedy (argmax); the warpers below only act when sampling
  double temperature = 1, top_p = 1, min_p = 0, repetition_penalty = 1;
  int64_t top_k = 50;  // transformers' default when sampling; 0 turns it off
  // Sampling uses std::mt19937_64: a seed makes runs reproducible here but cannot reproduce torch's RNG stream.
  // Unset: seeded from std::random_device.
  std::optional<uint64_t> seed;
  // A sequence ends after emitting one of these (kept in its output). Unset: the model config's eos ids; empty:
  // never (runs to max_new_tokens, as transformers' parity fixtures generate).
  std::optional<std::vector<int64_t>> eos_token_ids;
  // A sequence ends once its generated text contains one of these (needs a tokenizer); the token that completes the
  // string is kept, as transformers' StopStringCriteria keeps it.
  std::vector<std::string> stop_strings;
  // Streaming: called with each sequence's newly stable text (special tokens skipped, never a split UTF-8
  // character); the pieces of one sequence concatenate to decode(its tokens, skip_special_tokens=true).
  std::function<void(int64_t seq, const std::string& text_piece)> on_text;
};

// The options generation_config.json asks for (do_sample, temperature, top_k, top_p, min_p, repetition_penalty,
// eos ids, max_new_tokens when set); everything else at GenerationOptions' defaults.
GenerationOptions generation_options_from(const io::GenerationConfig& config);

// Wall-clock split of a generate() call, for tokens/s reports.
struct GenerationStats {
  int64_t prompt_tokens = 0;     // real (unpadded) prompt tokens over the batch
  int64_t generated_tokens = 0;  // new tokens over the batch, eos included, padding of finished rows excluded
  double prefill_seconds = 0;    // prompt forward pass and the first token
  double decode_seconds = 0;     // every later step
};

// Generates for each prompt (token ids, non-empty) and returns each sequence's new tokens only (no prompt, no
// padding; ending with the eos id when one stopped it). `tokenizer` may be null unless stop strings or on_text
// are used.
std::vector<std::vector<int64_t>> generate(const CausalLM& model, const Tokenizer* tokenizer,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options, GenerationStats* stats = nullptr);

}  // namespace glint
