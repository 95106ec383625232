// UTF-8 and Unicode-property helpers shared by the tokenizer components, with the exact character classes that
// Hugging Face `tokenizers` (Rust) uses: char::is_whitespace, char::is_alphanumeric, unicode_categories, ...
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace glint::tok {

// Decodes the code point at s[i] (s must be valid UTF-8) and advances i past it.
inline char32_t next_char(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  if (b < 0xE0) {
    char32_t c = ((b & 0x1F) << 6) | (s[i + 1] & 0x3F);
    i += 2;
    return c;
  }
  if (b < 0xF0) {
    char32_t c = ((b & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    i += 3;
    return c;
  }
  char32_t c = ((b & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
  i += 4;
  return c;
}

// Byte length of the UTF-8 sequence that starts with lead byte b (valid UTF-8 assumed).
inline size_t utf8_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }
inline size_t utf8_len(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

void append_utf8(std::string& out, char32_t c);

// Number of code points in valid UTF-8.
size_t char_count(std::string_view s);

// Returns s with every maximal invalid subsequence replaced by U+FFFD, exactly as Rust's String::from_utf8_lossy
// and Python's bytes.decode("utf-8", "replace") do. Valid input is returned unchanged.
std::string sanitize_utf8(std::string_view s);
bool is_valid_utf8(std::string_view s);

bool is_whitespace(char32_t c);        // Rust char::is_whitespace (White_Space property)
bool is_alphanumeric(char32_t c);      // Rust char::is_alphanumeric (Alphabetic or Numeric)
bool is_numeric(char32_t c);           // Rust char::is_numeric (Nd, Nl, No)
bool is_punctuation(char32_t c);       // unicode_categories is_punctuation (P*)
bool is_bert_punctuation(char32_t c);  // ASCII punctuation or P*
bool is_other(char32_t c);             // Cc, Cf, Co, Cs (HF's BERT leaves unassigned ones)
bool is_nonspacing_mark(char32_t c);   // Mn (BERT's strip_accents)
bool is_combining_mark(char32_t c);    // Mn, Mc, Me (StripAccents)
bool is_chinese_char(char32_t c);      // the CJK blocks BERT isolates

// Rust char::to_lowercase (may give two code points for U+0130).
void append_lowercase(std::string& out, char32_t c);

}  // namespace glint::tok
