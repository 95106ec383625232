// Added tokens (tokenizer.json "added_tokens"): strings matched in the text before the model, longest match first,
// as HF's AddedVocabulary: non-normalized ones on the original text, normalized ones on the normalized pieces.
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/tokenizers/model.h"
#include "models/tokenizers/normalizers.h"

namespace glint::tok {

struct AddedToken {
  std::string content;
  uint32_t id = 0;
  bool special = false, single_word = false, lstrip = false, rstrip = false, normalized = true;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // Ids are the model's where the model knows the content (as HF), the given ones otherwise.
  AddedVocabulary(std::vector<AddedToken> tokens, const Model& model, const Normalizer* normalizer);

  // Splits `text` around the added tokens and normalises the rest: the input of the pre-tokenizer.
  PreTokenizedString extract_and_normalize(std::string_view text, const Normalizer* normalizer) const;

  std::optional<uint32_t> token_to_id(std::string_view content) const;
  const AddedToken* find(uint32_t id) const;
  bool is_special(uint32_t id) const {
    const AddedToken* t = find(id);
    return t && t->special;
  }
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // Patterns grouped by first byte, longest first.
  struct Matcher {
    std::array<std::vector<std::pair<std::string, size_t>>, 256> by_first;  // pattern, token index
    bool empty = true;
  };
  void split_with(PreTokenizedString& s, const Matcher& m) const;
  std::vector<std::pair<size_t, Piece>> find_matches(std::string_view s, const Matcher& m) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<uint32_t, size_t> by_id_;
  Vocab by_content_;
  Matcher plain_, normalized_;
};

}  // namespace glint::tok
