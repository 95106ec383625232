// Pre-tokenizers of tokenizer.json: split the normalised text into words before the model (HF `tokenizers`).
#pragma once
#include <memory>

#include "models/tokenizers/json_util.h"
#include "models/tokenizers/pre_tokenized.h"

namespace glint::tok {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(PreTokenizedString& s) const = 0;
};

// GPT-2's word regex (the ByteLevel pre-tokenizer's use_regex).
inline constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// nullptr for a JSON null.
std::shared_ptr<const PreTokenizer> pre_tokenizer_from_json(const JsonAt& j);
std::shared_ptr<const PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);
std::shared_ptr<const PreTokenizer> make_bert_pre_tokenizer();
SplitBehavior split_behavior_from_json(const JsonAt& j, std::string_view key, SplitBehavior fallback);

}  // namespace glint::tok
