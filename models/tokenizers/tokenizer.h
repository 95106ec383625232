// A Hugging Face tokenizer in C++: loads tokenizer.json (or the legacy GPT-2 vocab.json + merges.txt and BERT
// vocab.txt files) and encodes/decodes with the same ids, tokens and offsets as HF `tokenizers`.
//
//   auto tok = glint::Tokenizer::from_pretrained("path/to/model");
//   glint::Encoding e = tok.encode("Hello world");
//   std::string text = tok.decode(e.ids, /*skip_special_tokens=*/true);
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizers/encoding.h"

namespace glint {

namespace tok {
class Model;
class Normalizer;
class PreTokenizer;
class PostProcessor;
class Decoder;
class AddedVocabulary;
struct AddedToken;
}  // namespace tok

enum class Padding { kNone, kLongest, kMaxLength };
enum class Side { kLeft, kRight };

struct EncodeOptions {
  bool add_special_tokens = true;
  Padding padding = Padding::kNone;
  Side pad_side = Side::kRight;
  size_t pad_to_multiple_of = 0;
  // Truncation to max_length tokens (special tokens included); 0 = no truncation. Padding::kMaxLength pads to it.
  size_t max_length = 0;
  Side truncation_side = Side::kRight;
  size_t stride = 0;  // tokens repeated between a truncated encoding and its overflowing pieces
  // The padding token; unset: the tokenizer's (tokenizer.json "padding", else tokenizer_config.json pad_token).
  std::optional<std::string> pad_token;
  std::optional<uint32_t> pad_id;
  uint32_t pad_type_id = 0;
};

// What tokenizer_config.json (and special_tokens_map.json) add to the tokenizer files.
struct TokenizerConfig {
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token, sep_token, cls_token, mask_token;
  std::string chat_template;  // the default template ("" when none)
  std::vector<std::pair<std::string, std::string>> named_chat_templates;
  Side padding_side = Side::kRight;
  Side truncation_side = Side::kRight;
  std::optional<size_t> model_max_length;
  std::optional<bool> do_lower_case;
  nlohmann::json raw;  // the whole file, for what is not parsed here
};

class Tokenizer {
 public:
  // tokenizer.json; errors name the file and the JSON path of the problem.
  static Tokenizer from_file(const std::string& path);
  static Tokenizer from_json(const nlohmann::json& j, const std::string& source = "<json>");
  // A folder with tokenizer.json, or vocab.json + merges.txt (GPT-2), or vocab.txt (BERT), plus the optional
  // tokenizer_config.json / special_tokens_map.json.
  static Tokenizer from_pretrained(const std::string& folder);
  static Tokenizer from_gpt2_files(const std::string& vocab_json, const std::string& merges_txt);
  static Tokenizer from_bert_vocab(const std::string& vocab_txt, bool lowercase = true);

  // Invalid UTF-8 in `text` is replaced by U+FFFD first (as Python's decode(errors="replace")); offsets are
  // byte offsets into that text (unchanged for valid UTF-8). Applies the tokenizer.json truncation/padding.
  Encoding encode(std::string_view text, bool add_special_tokens = true) const;
  // In parallel (OpenMP), with padding and truncation from `options`.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const EncodeOptions& options) const;
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts) const {
    return encode_batch(texts, default_options_);
  }
  std::string decode(const std::vector<uint32_t>& ids, bool skip_special_tokens = false) const;
  // Renders the tokenizer's chat template (tokenizer_config.json; `template_name` picks one of several named
  // templates) as transformers' apply_chat_template(tokenize=False) does: the special tokens of the config are
  // template variables (bos_token, eos_token, ...) unless `extra` sets them. Throws "[chat_template] ..." when the
  // tokenizer has no such template.
  std::string apply_chat_template(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                  const nlohmann::ordered_json& extra = {},
                                  const std::string& template_name = "") const;

  std::optional<uint32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(uint32_t id) const;
  // Model vocabulary plus the added tokens not in it (HF get_vocab_size(with_added_tokens=True)).
  size_t vocab_size() const;
  const std::vector<tok::AddedToken>& added_tokens() const;

  const TokenizerConfig& config() const { return config_; }
  // Reads tokenizer_config.json-style settings (special tokens, padding side, chat template, ...).
  void set_config(TokenizerConfig c);
  const EncodeOptions& default_options() const { return default_options_; }

 private:
  Tokenizer() = default;
  static Tokenizer assemble(std::shared_ptr<const tok::Model> model, std::vector<tok::AddedToken> added,
                            std::shared_ptr<const tok::Normalizer> n, std::shared_ptr<const tok::PreTokenizer> p,
                            std::shared_ptr<const tok::PostProcessor> pp, std::shared_ptr<const tok::Decoder> d);
  Encoding encode_one(std::string_view text, const EncodeOptions& o) const;
  void pad(std::vector<Encoding>& batch, const EncodeOptions& o) const;

  std::shared_ptr<const tok::Model> model_;
  std::shared_ptr<const tok::AddedVocabulary> added_;
  std::shared_ptr<const tok::Normalizer> normalizer_;
  std::shared_ptr<const tok::PreTokenizer> pre_tokenizer_;
  std::shared_ptr<const tok::PostProcessor> post_processor_;
  std::shared_ptr<const tok::Decoder> decoder_;
  EncodeOptions default_options_;
  std::optional<uint32_t> pad_id_;
  std::string pad_token_;
  TokenizerConfig config_;
};

// Parses tokenizer_config.json (and special_tokens_map.json beside it when present); errors name the file.
TokenizerConfig read_tokenizer_config(const std::string& folder);
// The same from tokenizer_config.json content held elsewhere (a GGUF file's); errors name `source`.
TokenizerConfig tokenizer_config_from_json(const nlohmann::json& j, const std::string& source = "<json>");

}  // namespace glint
