// Unigram (SentencePiece) as HF `tokenizers`: Viterbi over the pieces that start at each character, unknown
// characters scored min_score - 10 and consecutive unknowns fused, then byte fallback <0xXX> for pieces that are
// not in the vocabulary.
#include <algorithm>

#include "models/tokenizers/model.h"

namespace glint::tok {

namespace {

constexpr double kUnkPenalty = 10.0;

class Unigram : public Model {
 public:
  Unigram(std::vector<std::pair<std::string, double>> pieces, std::optional<uint32_t> unk, bool byte_fallback,
          const std::string& where)
      : pieces_(std::move(pieces)), unk_id_(unk), byte_fallback_(byte_fallback), where_(where) {
    min_score_ = pieces_.empty() ? 0.0 : pieces_[0].second;
    for (uint32_t i = 0; i < pieces_.size(); ++i) {
      vocab_.emplace(pieces_[i].first, i);
      min_score_ = std::min(min_score_, pieces_[i].second);
      max_len_ = std::max(max_len_, pieces_[i].first.size());
    }
  }

  void tokenize(std::string_view s, std::vector<Token>& out) const override {
    if (s.empty()) return;
    struct Node {
      double score = 0;
      size_t start = SIZE_MAX;  // SIZE_MAX: no path ends here yet
      uint32_t id = 0;
    };
    std::vector<Node> best(s.size() + 1);
    best[0].start = 0;
    double unk_score = min_score_ - kUnkPenalty;
    for (size_t start = 0; start < s.size();) {
      double base = best[start].score;
      size_t char_len = utf8_len(static_cast<unsigned char>(s[start]));
      bool single = false;
      for (size_t len = 1; len <= max_len_ && start + len <= s.size(); ++len) {
        auto id = find_id(vocab_, s.substr(start, len));
        if (!id) continue;
        Node& target = best[start + len];
        double cand = base + pieces_[*id].second;
        if (target.start == SIZE_MAX || cand > target.score) target = {cand, start, *id};
        single |= len == char_len;
      }
      if (!single) {
        Node& target = best[start + char_len];
        double cand = base + unk_score;
        if (target.start == SIZE_MAX || cand > target.score) target = {cand, start, unk_id_.value_or(UINT32_MAX)};
      }
      start += char_len;
    }
    // Back from the end; consecutive unknown pieces fuse into one.
    std::vector<std::pair<size_t, size_t>> pieces;
    bool last_unk = false;
    for (size_t end = s.size(); end > 0;) {
      const Node& n = best[end];
      bool is_unk = unk_id_ && n.id == *unk_id_;
      if (is_unk && last_unk)
        pieces.back().first = n.start;
      else
        pieces.push_back({n.start, end});
      last_unk = is_unk;
      end = n.start;
    }
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it)
      emit(s.substr(it->first, it->second - it->first), it->first, out);
  }

  std::optional<uint32_t> token_to_id(std::string_view token) const override { return find_id(vocab_, token); }
  const std::string* id_to_token(uint32_t id) const override {
    return id < pieces_.size() ? &pieces_[id].first : nullptr;
  }
  size_t vocab_size() const override { return pieces_.size(); }

 private:
  void emit(std::string_view piece, size_t start, std::vector<Token>& out) const {
    size_t end = start + piece.size();
    if (auto id = find_id(vocab_, piece)) {
      out.push_back({*id, std::string(piece), start, end});
      return;
    }
    if (byte_fallback_) {
      size_t first = out.size();
      bool all = true;
      for (char c : piece) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned char>(c));
        auto id = find_id(vocab_, name);
        if (!id) {
          all = false;
          break;
        }
        out.push_back({*id, name, start, end});
      }
      if (all) return;
      out.resize(first);
    }
    if (!unk_id_) fail("tokenizer", where_, ": Unigram model has no unk_id for the unknown piece '", piece, "'");
    out.push_back({*unk_id_, std::string(piece), start, end});
  }

  std::vector<std::pair<std::string, double>> pieces_;
  Vocab vocab_;
  std::optional<uint32_t> unk_id_;
  bool byte_fallback_;
  std::string where_;
  double min_score_ = 0;
  size_t max_len_ = 0;
};

}  // namespace

std::shared_ptr<const Model> make_unigram(std::vector<std::pair<std::string, double>> pieces,
                                          std::optional<uint32_t> unk_id, bool byte_fallback,
                                          const std::string& where) {
  return std::make_shared<Unigram>(std::move(pieces), unk_id, byte_fallback, where);
}

}  // namespace glint::tok
