// The small JSON files of a Hugging Face model folder, each as its JSON plus a typed struct for what glint uses:
// config.json, generation_config.json, tokenizer_config.json, special_tokens_map.json, model_index.json.
// Loaders take the file or the folder that holds it; *_from_json takes parsed JSON (for tests, fuzzing, embedding).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/io/config.h"

namespace glint::io {

// config.json: architectures, model_type, dtype; the architecture code reads the rest through the accessors.
struct ModelConfig {
  JsonFile file;
  std::string model_type;                  // "" when absent
  std::vector<std::string> architectures;  // empty when absent
  std::string dtype;                       // "torch_dtype" or "dtype"; "" when absent
};
ModelConfig model_config_from_json(const JsonFile& file);
ModelConfig load_model_config(const std::string& file_or_folder);

// generation_config.json, defaults as transformers applies them when a key is unset.
struct GenerationConfig {
  JsonFile file;
  int64_t max_length = 20;
  std::optional<int64_t> max_new_tokens;
  int64_t min_length = 0;
  std::optional<int64_t> min_new_tokens;
  bool do_sample = false;
  int64_t num_beams = 1;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  std::optional<double> min_p;
  double typical_p = 1.0;
  double repetition_penalty = 1.0;
  double length_penalty = 1.0;
  int64_t no_repeat_ngram_size = 0;
  int64_t num_return_sequences = 1;
  bool use_cache = true;
  std::vector<int64_t> eos_token_ids;  // "eos_token_id" may be one id or a list
  std::optional<int64_t> bos_token_id, pad_token_id, decoder_start_token_id;
};
GenerationConfig generation_config_from_json(const JsonFile& file);
GenerationConfig load_generation_config(const std::string& file_or_folder);

// A special or added token: written as a plain string or as an AddedToken dict.
struct TokenSpec {
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = true;
};
TokenSpec token_spec_from_json(const JsonFile& context, const nlohmann::json& v, std::string_view key);

// The named special tokens (bos, eos, unk, sep, pad, cls, mask) and additional_special_tokens.
struct SpecialTokens {
  std::map<std::string, TokenSpec> named;  // key without "_token": "bos", "eos", ...
  std::vector<TokenSpec> additional;
  std::optional<std::string> content(const std::string& name) const;  // "eos" -> "</s>"
};
SpecialTokens special_tokens_from_json(const JsonFile& file);
SpecialTokens load_special_tokens_map(const std::string& file_or_folder);

// tokenizer_config.json (plus chat_template.jinja / chat_template.json beside it, as newer transformers save them).
struct TokenizerConfig {
  JsonFile file;
  SpecialTokens special;
  std::map<int64_t, TokenSpec> added_tokens_decoder;
  std::optional<std::string> chat_template;                 // the default template
  std::map<std::string, std::string> named_chat_templates;  // "tool_use", ... when given as a list
  std::optional<int64_t> model_max_length;                  // absent or the "very large" sentinel -> nullopt
  std::string padding_side = "right", truncation_side = "right";
  std::optional<bool> add_bos_token, add_eos_token, clean_up_tokenization_spaces;
  std::string tokenizer_class;
};
TokenizerConfig tokenizer_config_from_json(const JsonFile& file);
TokenizerConfig load_tokenizer_config(const std::string& file_or_folder);

// model_index.json of a diffusers pipeline: the pipeline class and each component's (library, class).
struct ModelIndex {
  JsonFile file;
  std::string class_name, diffusers_version;
  std::map<std::string, std::pair<std::string, std::string>> components;  // "unet" -> ("diffusers", "UNet2D...")
};
ModelIndex model_index_from_json(const JsonFile& file);
ModelIndex load_model_index(const std::string& file_or_folder);

}  // namespace glint::io
