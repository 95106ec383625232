// A string being normalised, with, for every byte of the normalised text, the byte range of the original input it
// came from: HF `tokenizers`' NormalizedString, whose alignment rules (transform_range) this follows exactly, so
// token offsets map back to the original text the way HF's do.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizers/regex.h"
#include "models/tokenizers/unicode.h"

namespace glint::tok {

struct Span {
  uint32_t start = 0, end = 0;  // byte range in the original input
};

// One output character of a transformation: change 0 replaces the next input character, +1 inserts a character
// (aligned with the one before it), -n replaces the next character and removes the n after it.
struct Change {
  char32_t c;
  int change;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// A pattern's view of a string: consecutive pieces covering it, each a match or not (HF Pattern::find_matches).
struct Piece {
  size_t start, end;
  bool is_match;
};
std::vector<Piece> pieces_from_matches(const std::vector<Match>& matches, size_t len);
template <class Pred>
std::vector<Piece> pieces_from_chars(std::string_view s, Pred is_delimiter);

class NormalizedString {
 public:
  NormalizedString() = default;
  // `original` starts at byte `base` of the whole input.
  NormalizedString(std::string_view original, size_t base);

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  size_t size() const { return text_.size(); }
  // Where this piece starts in the original input (HF offsets_original().0).
  size_t original_start() const { return shift_; }
  // Original byte range of the normalised byte range [start, end).
  Span original_span(size_t start, size_t end) const;

  void transform_range(size_t start, size_t end, const std::vector<Change>& dest, size_t initial_removed_chars);
  void transform(const std::vector<Change>& dest, size_t initial_removed_chars) {
    transform_range(0, text_.size(), dest, initial_removed_chars);
  }
  void prepend(std::string_view s);
  void append(std::string_view s);
  void replace(const Regex& pattern, std::string_view content);
  void lowercase();
  // Keeps the characters for which keep(c) holds; removed ones merge into the kept character before them.
  template <class Keep>
  void filter(Keep keep);
  template <class Map>
  void map(Map f);
  // Replaces every character by its byte-level alphabet characters (one per UTF-8 byte).
  void to_byte_level();
  void strip(bool left, bool right);

  NormalizedString slice(size_t start, size_t end) const;
  // The pieces that `behavior` keeps, as slices; empty ones dropped.
  std::vector<NormalizedString> split(const std::vector<Piece>& pieces, SplitBehavior behavior) const;

 private:
  std::string text_;
  std::vector<Span> align_;
  size_t shift_ = 0;
};

template <class Pred>
std::vector<Piece> pieces_from_chars(std::string_view s, Pred is_delimiter) {
  std::vector<Piece> out;
  size_t last = 0, i = 0;
  while (i < s.size()) {
    size_t b = i;
    char32_t c = next_char(s, i);
    if (is_delimiter(c)) {
      if (last < b) out.push_back({last, b, false});
      out.push_back({b, i, true});
      last = i;
    }
  }
  if (s.size() > last) out.push_back({last, s.size(), false});
  return out;
}

template <class Keep>
void NormalizedString::filter(Keep keep) {
  std::vector<Change> dest;
  dest.reserve(text_.size());
  int removed = 0;
  size_t removed_start = 0;
  bool have_last = false;
  char32_t last = 0;
  for (size_t i = 0; i < text_.size();) {
    char32_t c = next_char(text_, i);
    if (keep(c)) {
      if (have_last)
        dest.push_back({last, -removed});
      else
        removed_start = size_t(removed);
      last = c;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (have_last) dest.push_back({last, -removed});
  transform(dest, removed_start);
}

template <class Map>
void NormalizedString::map(Map f) {
  std::vector<Change> dest;
  dest.reserve(text_.size());
  for (size_t i = 0; i < text_.size();) dest.push_back({f(next_char(text_, i)), 0});
  transform(dest, 0);
}

}  // namespace glint::tok
