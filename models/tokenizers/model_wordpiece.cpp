// WordPiece as HF `tokenizers`: greedy longest-prefix matching with the continuing-subword prefix on non-initial
// pieces; a word longer than max_input_chars_per_word or with an unmatchable piece becomes one unknown token.
#include "models/tokenizers/model.h"

namespace glint::tok {

namespace {

class WordPiece : public Model {
 public:
  WordPiece(Vocab vocab, std::string unk, std::string prefix, size_t max_chars, const std::string& where)
      : vocab_(std::move(vocab)), unk_(std::move(unk)), prefix_(std::move(prefix)), max_chars_(max_chars) {
    vocab_r_ = invert_vocab(vocab_, where);
    unk_id_ = find_id(vocab_, unk_);
    where_ = where;
  }

  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    size_t first = out.size();
    if (char_count(word) <= max_chars_) {
      std::string candidate;
      size_t start = 0;
      while (start < word.size()) {
        size_t end = word.size();
        std::optional<uint32_t> found;
        while (start < end) {
          candidate.clear();
          if (start > 0) candidate += prefix_;
          candidate += word.substr(start, end - start);
          if ((found = find_id(vocab_, candidate))) break;
          do --end;
          while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
        }
        if (!found) break;
        out.push_back({*found, vocab_r_[*found], start, end});
        start = end;
      }
      if (start == word.size()) return;
    }
    out.resize(first);
    if (!unk_id_) fail("tokenizer", where_, ": WordPiece unknown token '", unk_, "' is not in the vocabulary");
    out.push_back({*unk_id_, unk_, 0, word.size()});
  }

  std::optional<uint32_t> token_to_id(std::string_view token) const override { return find_id(vocab_, token); }
  const std::string* id_to_token(uint32_t id) const override {
    return id < vocab_r_.size() && !vocab_r_[id].empty() ? &vocab_r_[id] : nullptr;
  }
  size_t vocab_size() const override { return vocab_.size(); }

 private:
  Vocab vocab_;
  std::vector<std::string> vocab_r_;
  std::string unk_, prefix_, where_;
  size_t max_chars_;
  std::optional<uint32_t> unk_id_;
};

}  // namespace

std::shared_ptr<const Model> make_wordpiece(Vocab vocab, std::string unk_token, std::string prefix,
                                            size_t max_input_chars_per_word, const std::string& where) {
  return std::make_shared<WordPiece>(std::move(vocab), std::move(unk_token), std::move(prefix),
                                     max_input_chars_per_word, where);
}

}  // namespace glint::tok
