#include "models/tokenizers/added_tokens.h"

#include <algorithm>
#include <cstring>

namespace glint::tok {

namespace {

char32_t last_char(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return next_char(s, i);
}
bool is_word_char(char32_t c) { return c == '_' || is_alphanumeric(c); }

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Model& model, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    AddedToken& t = tokens_[i];
    if (auto id = model.token_to_id(t.content)) t.id = *id;
    by_id_[t.id] = i;
    by_content_[t.content] = t.id;
    if (t.content.empty()) continue;
    std::string pattern = t.content;
    if (t.normalized && normalizer) {
      NormalizedString n(t.content, 0);
      normalizer->normalize(n);
      pattern = n.text();
      if (pattern.empty()) continue;
    }
    Matcher& m = t.normalized ? normalized_ : plain_;
    m.by_first[static_cast<unsigned char>(pattern[0])].push_back({pattern, i});
    m.empty = false;
  }
  for (Matcher* m : {&plain_, &normalized_})
    for (auto& list : m->by_first)
      std::stable_sort(list.begin(), list.end(),
                       [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::optional<uint32_t> AddedVocabulary::token_to_id(std::string_view content) const {
  return find_id(by_content_, content);
}

const AddedToken* AddedVocabulary::find(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::vector<std::pair<size_t, Piece>> AddedVocabulary::find_matches(std::string_view s, const Matcher& m) const {
  std::vector<std::pair<size_t, Piece>> out;  // token index (SIZE_MAX: text), range
  size_t start_offset = 0;
  for (size_t p = 0; p < s.size();) {
    const auto& candidates = m.by_first[static_cast<unsigned char>(s[p])];
    const std::pair<std::string, size_t>* hit = nullptr;
    for (const auto& c : candidates)
      if (c.first.size() <= s.size() - p && std::memcmp(s.data() + p, c.first.data(), c.first.size()) == 0) {
        hit = &c;
        break;
      }
    if (!hit) {
      ++p;
      continue;
    }
    size_t start = p, stop = p + hit->first.size();
    p = stop;  // the scan goes on after the match itself, as aho-corasick's iterator does
    const AddedToken& t = tokens_[hit->second];
    if (t.single_word) {
      bool start_space = start == 0 || !is_word_char(last_char(s.substr(0, start)));
      size_t k = stop;
      bool stop_space = stop == s.size() || !is_word_char(next_char(s, k));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) {
      size_t b = start;
      while (b > 0) {
        size_t q = b - 1;
        while (q > 0 && (static_cast<unsigned char>(s[q]) & 0xC0) == 0x80) --q;
        size_t k = q;
        if (!is_whitespace(next_char(s, k))) break;
        b = q;
      }
      start = std::max(b, start_offset);
    }
    if (t.rstrip) {
      while (stop < s.size()) {
        size_t k = stop;
        if (!is_whitespace(next_char(s, k))) break;
        stop = k;
      }
    }
    if (start > start_offset) out.push_back({SIZE_MAX, {start_offset, start, false}});
    out.push_back({hit->second, {start, stop, true}});
    start_offset = stop;
  }
  if (start_offset != s.size()) out.push_back({SIZE_MAX, {start_offset, s.size(), false}});
  return out;
}

void AddedVocabulary::split_with(PreTokenizedString& pts, const Matcher& m) const {
  if (m.empty) return;
  std::vector<Split> out;
  for (Split& sp : pts.splits) {
    if (sp.tokenized) {
      out.push_back(std::move(sp));
      continue;
    }
    for (const auto& [index, piece] : find_matches(sp.normalized.text(), m)) {
      if (piece.end <= piece.start) continue;
      Split s{sp.normalized.slice(piece.start, piece.end), {}, index != SIZE_MAX};
      if (s.tokenized) s.tokens.push_back({tokens_[index].id, s.normalized.text(), 0, s.normalized.size()});
      out.push_back(std::move(s));
    }
  }
  pts.splits = std::move(out);
}

PreTokenizedString AddedVocabulary::extract_and_normalize(std::string_view text, const Normalizer* normalizer) const {
  PreTokenizedString pts;
  if (text.empty()) return pts;
  pts.splits.push_back({NormalizedString(text, 0), {}, false});
  split_with(pts, plain_);
  for (Split& sp : pts.splits)
    if (!sp.tokenized && normalizer) normalizer->normalize(sp.normalized);
  split_with(pts, normalized_);
  std::erase_if(pts.splits, [](const Split& s) { return s.normalized.empty(); });
  return pts;
}

}  // namespace glint::tok
