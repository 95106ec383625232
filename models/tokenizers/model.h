// The tokenization models of tokenizer.json (BPE, WordPiece, Unigram): a word in, tokens with byte offsets out.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/tokenizers/json_util.h"
#include "models/tokenizers/pre_tokenized.h"

namespace glint::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
// token -> id with lookups by string_view (no allocation per lookup).
using Vocab = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

inline std::optional<uint32_t> find_id(const Vocab& v, std::string_view token) {
  auto it = v.find(token);
  if (it == v.end()) return std::nullopt;
  return it->second;
}

class Model {
 public:
  virtual ~Model() = default;
  // Appends the tokens of one pre-tokenized word; offsets are byte ranges of `word`.
  virtual void tokenize(std::string_view word, std::vector<Token>& out) const = 0;
  virtual std::optional<uint32_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(uint32_t id) const = 0;
  virtual size_t vocab_size() const = 0;
};

std::shared_ptr<const Model> model_from_json(const JsonAt& j);

// id -> token table from a vocabulary; ids must be below `size` (checked, naming `where`).
std::vector<std::string> invert_vocab(const Vocab& vocab, const std::string& where);

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix, end_of_word_suffix;
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
};
std::shared_ptr<const Model> make_bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                                      const BpeOptions& options, const std::string& where);
std::shared_ptr<const Model> make_wordpiece(Vocab vocab, std::string unk_token, std::string prefix,
                                            size_t max_input_chars_per_word, const std::string& where);
std::shared_ptr<const Model> make_unigram(std::vector<std::pair<std::string, double>> pieces,
                                          std::optional<uint32_t> unk_id, bool byte_fallback, const std::string& where);

}  // namespace glint::tok
