#include "models/tokenizers/normalized_string.h"

#include <algorithm>

#include "models/tokenizers/byte_level.h"

namespace glint::tok {

std::vector<Piece> pieces_from_matches(const std::vector<Match>& matches, size_t len) {
  std::vector<Piece> out;
  if (len == 0) return {{0, 0, false}};
  size_t prev = 0;
  out.reserve(matches.size() * 2 + 1);
  for (const Match& m : matches) {
    if (prev != m.start) out.push_back({prev, m.start, false});
    out.push_back({m.start, m.end, true});
    prev = m.end;
  }
  if (prev != len) out.push_back({prev, len, false});
  return out;
}

NormalizedString::NormalizedString(std::string_view original, size_t base) : text_(original), shift_(base) {
  align_.resize(text_.size());
  for (size_t i = 0; i < text_.size();) {
    size_t n = utf8_len(static_cast<unsigned char>(text_[i]));
    Span s{uint32_t(base + i), uint32_t(base + i + n)};
    for (size_t k = 0; k < n; ++k) align_[i + k] = s;
    i += n;
  }
}

Span NormalizedString::original_span(size_t start, size_t end) const {
  if (start < end) return {align_[start].start, align_[end - 1].end};
  if (start < align_.size()) return {align_[start].start, align_[start].start};
  if (!align_.empty()) return {align_.back().end, align_.back().end};
  return {uint32_t(shift_), uint32_t(shift_)};
}

void NormalizedString::transform_range(size_t start, size_t end, const std::vector<Change>& dest,
                                       size_t initial_removed_chars) {
  size_t rp = start;  // next replaced character
  for (size_t k = 0; k < initial_removed_chars && rp < end; ++k) rp += utf8_len(static_cast<unsigned char>(text_[rp]));
  size_t offset = rp;
  std::string out;
  std::vector<Span> al;
  out.reserve(end - start + dest.size());
  al.reserve(end - start + dest.size());
  for (const Change& ch : dest) {
    Span a;
    if (ch.change > 0) {
      a = offset < 1 ? Span{uint32_t(shift_), uint32_t(shift_)} : align_[offset - 1];
    } else {
      a = offset < align_.size() ? align_[offset] : (align_.empty() ? Span{} : align_.back());
      if (rp < end) {
        size_t n = utf8_len(static_cast<unsigned char>(text_[rp]));
        rp += n;
        offset += n;
      }
      for (int k = 0; k < -ch.change && rp < end; ++k) {
        size_t n = utf8_len(static_cast<unsigned char>(text_[rp]));
        rp += n;
        offset += n;
      }
    }
    size_t n = utf8_len(ch.c);
    append_utf8(out, ch.c);
    al.insert(al.end(), n, a);
  }
  text_.replace(start, end - start, out);
  align_.erase(align_.begin() + start, align_.begin() + end);
  align_.insert(align_.begin() + start, al.begin(), al.end());
}

void NormalizedString::prepend(std::string_view s) {
  if (text_.empty() || s.empty()) return;
  size_t i = 0;
  char32_t first = next_char(text_, i);
  std::vector<Change> dest;
  for (size_t k = 0; k < s.size();) {
    bool is_first = k == 0;
    dest.push_back({next_char(s, k), is_first ? 0 : 1});
  }
  dest.push_back({first, 1});
  transform_range(0, i, dest, 0);
}

void NormalizedString::append(std::string_view s) {
  if (text_.empty() || s.empty()) return;
  size_t last = text_.size() - 1;
  while ((static_cast<unsigned char>(text_[last]) & 0xC0) == 0x80) --last;
  size_t i = last;
  std::vector<Change> dest{{next_char(text_, i), 0}};
  for (size_t k = 0; k < s.size();) dest.push_back({next_char(s, k), 1});
  transform_range(last, text_.size(), dest, 0);
}

void NormalizedString::replace(const Regex& pattern, std::string_view content) {
  std::vector<Match> found = pattern.find_all(text_);
  if (found.empty()) return;
  std::vector<Change> dest;
  for (size_t k = 0; k < content.size();) dest.push_back({next_char(content, k), 1});
  // Right to left keeps the earlier match positions valid.
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    if (it->start == it->end) continue;
    size_t removed = char_count(std::string_view(text_).substr(it->start, it->end - it->start));
    transform_range(it->start, it->end, dest, removed);
  }
}

void NormalizedString::lowercase() {
  bool ascii_lower = true;
  for (char c : text_) ascii_lower &= !(c >= 'A' && c <= 'Z') && static_cast<unsigned char>(c) < 0x80;
  if (ascii_lower) return;
  std::vector<Change> dest;
  dest.reserve(text_.size());
  std::string tmp;
  for (size_t i = 0; i < text_.size();) {
    char32_t c = next_char(text_, i);
    tmp.clear();
    append_lowercase(tmp, c);
    int k = 0;
    for (size_t j = 0; j < tmp.size(); ++k) dest.push_back({next_char(tmp, j), k > 0 ? 1 : 0});
  }
  transform(dest, 0);
}

void NormalizedString::to_byte_level() {
  std::string out;
  std::vector<Span> al;
  out.reserve(text_.size() * 2);
  al.reserve(text_.size() * 2);
  const auto& table = byte_to_unicode_utf8();
  for (size_t i = 0; i < text_.size();) {
    size_t n = utf8_len(static_cast<unsigned char>(text_[i]));
    Span a = align_[i];
    for (size_t k = 0; k < n; ++k) {
      const std::string& mapped = table[static_cast<unsigned char>(text_[i + k])];
      out += mapped;
      al.insert(al.end(), mapped.size(), a);
    }
    i += n;
  }
  text_ = std::move(out);
  align_ = std::move(al);
}

void NormalizedString::strip(bool left, bool right) {
  std::vector<char32_t> chars;
  for (size_t i = 0; i < text_.size();) chars.push_back(next_char(text_, i));
  size_t lead = 0, trail = 0;
  if (left)
    while (lead < chars.size() && is_whitespace(chars[lead])) ++lead;
  if (right)
    while (trail < chars.size() - lead && is_whitespace(chars[chars.size() - 1 - trail])) ++trail;
  if (lead == 0 && trail == 0) return;
  std::vector<Change> dest;
  for (size_t i = lead; i + trail < chars.size(); ++i)
    dest.push_back({chars[i], i + 1 + trail == chars.size() ? -int(trail) : 0});
  transform(dest, lead);
}

NormalizedString NormalizedString::slice(size_t start, size_t end) const {
  NormalizedString s;
  s.text_ = text_.substr(start, end - start);
  s.align_.assign(align_.begin() + start, align_.begin() + end);
  s.shift_ = original_span(start, end).start;
  return s;
}

std::vector<NormalizedString> NormalizedString::split(const std::vector<Piece>& pieces, SplitBehavior behavior) const {
  std::vector<Piece> kept;
  kept.reserve(pieces.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      kept = pieces;
      break;
    case SplitBehavior::kRemoved:
      for (const Piece& p : pieces)
        if (!p.is_match) kept.push_back(p);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool prev_match = false;
      for (const Piece& p : pieces) {
        if (p.is_match && !prev_match && !kept.empty())
          kept.back().end = p.end;
        else
          kept.push_back(p);
        prev_match = p.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool prev_match = false;
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->is_match && !prev_match && !kept.empty())
          kept.back().start = it->start;
        else
          kept.push_back(*it);
        prev_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      bool prev_match = false;
      for (const Piece& p : pieces) {
        if (p.is_match == prev_match && !kept.empty())
          kept.back().end = p.end;
        else
          kept.push_back(p);
        prev_match = p.is_match;
      }
      break;
    }
  }
  std::vector<NormalizedString> out;
  out.reserve(kept.size());
  for (const Piece& p : kept)
    if (p.end > p.start) out.push_back(slice(p.start, p.end));
  return out;
}

}  // namespace glint::tok
