#include "models/tokenizers/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>

namespace glint::tok {

namespace {

utf8proc_option_t form_options(UnicodeForm form) {
  int o = UTF8PROC_STABLE;
  switch (form) {
    case UnicodeForm::kNFC: o |= UTF8PROC_COMPOSE; break;
    case UnicodeForm::kNFD: o |= UTF8PROC_DECOMPOSE; break;
    case UnicodeForm::kNFKC: o |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case UnicodeForm::kNFKD: o |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  return utf8proc_option_t(o);
}

std::string utf8proc_normalize(std::string_view s, utf8proc_option_t options) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()),
                                    &out, options);
  if (n < 0) return std::string(s);  // cannot happen on valid UTF-8; keep the text rather than lose it
  std::string r(reinterpret_cast<char*>(out), size_t(n));
  std::free(out);
  return r;
}

// A character that starts a new normalisation segment: a starter that never composes with what precedes it
// (Hangul vowel and trailing jamo do). Segments that still interact are caught by the whole-text check below.
bool starts_segment(char32_t c) {
  if ((c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2)) return false;
  return c < 0x300 || utf8proc_get_property(utf8proc_int32_t(c))->combining_class == 0;
}

// The changes turning a segment of n characters into `out`: 1:1 while both last, the surplus output characters
// inserted, a shortfall removed after the first output character.
void segment_changes(std::string_view out, size_t n, std::vector<Change>& dest) {
  size_t m = char_count(out), k = 0;
  for (size_t i = 0; i < out.size(); ++k) {
    char32_t c = next_char(out, i);
    int change = k < n ? 0 : 1;
    if (k == 0 && m < n) change = -int(n - m);
    dest.push_back({c, change});
  }
}

}  // namespace

void unicode_normalize(NormalizedString& s, UnicodeForm form) {
  const std::string& t = s.text();
  bool ascii = true;
  for (char c : t) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) return;
  utf8proc_option_t options = form_options(form);
  std::string whole = utf8proc_normalize(t, options);
  if (whole == t) return;
  std::vector<Change> dest;
  std::string joined;
  size_t seg_start = 0, seg_chars = 0;
  auto flush = [&](size_t end) {
    if (end == seg_start) return;
    std::string out = utf8proc_normalize(std::string_view(t).substr(seg_start, end - seg_start), options);
    segment_changes(out, seg_chars, dest);
    joined += out;
  };
  for (size_t i = 0; i < t.size();) {
    size_t b = i;
    char32_t c = next_char(t, i);
    if (starts_segment(c)) {
      flush(b);
      seg_start = b;
      seg_chars = 0;
    }
    ++seg_chars;
  }
  flush(t.size());
  if (joined != whole) {
    dest.clear();
    segment_changes(whole, char_count(t), dest);
  }
  s.transform(dest, 0);
}

namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm f) : form_(f) {}
  void normalize(NormalizedString& s) const override { unicode_normalize(s, form_); }

 private:
  UnicodeForm form_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.lowercase(); }
};

class Strip : public Normalizer {
 public:
  Strip(bool l, bool r) : left_(l), right_(r) {}
  void normalize(NormalizedString& s) const override { s.strip(left_, right_); }

 private:
  bool left_, right_;
};

class StripAccents : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    s.filter([](char32_t c) { return !is_nonspacing_mark(c); });
  }
};

class Replace : public Normalizer {
 public:
  Replace(Regex p, std::string c) : pattern_(std::move(p)), content_(std::move(c)) {}
  void normalize(NormalizedString& s) const override { s.replace(pattern_, content_); }

 private:
  Regex pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(NormalizedString& s) const override { s.prepend(prepend_); }

 private:
  std::string prepend_;
};

class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.to_byte_level(); }
};

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, bool strip_accents, bool lower)
      : clean_text_(clean), chinese_(chinese), strip_accents_(strip_accents), lowercase_(lower) {}

  void normalize(NormalizedString& s) const override {
    if (clean_text_) {
      s.filter([](char32_t c) {
        bool control = c != '\t' && c != '\n' && c != '\r' && is_other(c);
        return !(c == 0 || c == 0xFFFD || control);
      });
      s.map([](char32_t c) { return c == '\t' || c == '\n' || c == '\r' || is_whitespace(c) ? char32_t(' ') : c; });
    }
    if (chinese_) {
      bool any = false;
      for (size_t i = 0; i < s.text().size() && !any;) any = is_chinese_char(next_char(s.text(), i));
      if (any) {
        std::vector<Change> dest;
        for (size_t i = 0; i < s.text().size();) {
          char32_t c = next_char(s.text(), i);
          if (is_chinese_char(c)) dest.insert(dest.end(), {{' ', 0}, {c, 1}, {' ', 1}});
          else dest.push_back({c, 0});
        }
        s.transform(dest, 0);
      }
    }
    if (strip_accents_) {
      unicode_normalize(s, UnicodeForm::kNFD);
      s.filter([](char32_t c) { return !is_nonspacing_mark(c); });
    }
    if (lowercase_) s.lowercase();
  }

 private:
  bool clean_text_, chinese_, strip_accents_, lowercase_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::shared_ptr<const Normalizer>> n) : items_(std::move(n)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& n : items_) n->normalize(s);
  }

 private:
  std::vector<std::shared_ptr<const Normalizer>> items_;
};

}  // namespace

std::shared_ptr<const Normalizer> normalizer_from_json(const JsonAt& j) {
  if (j.value.is_null()) return nullptr;
  std::string t = j.type("normalizer", {"NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "StripAccents", "Replace",
                                        "Prepend", "BertNormalizer", "ByteLevel", "Sequence"});
  if (t == "NFC") return std::make_shared<UnicodeNormalizer>(UnicodeForm::kNFC);
  if (t == "NFD") return std::make_shared<UnicodeNormalizer>(UnicodeForm::kNFD);
  if (t == "NFKC") return std::make_shared<UnicodeNormalizer>(UnicodeForm::kNFKC);
  if (t == "NFKD") return std::make_shared<UnicodeNormalizer>(UnicodeForm::kNFKD);
  if (t == "Lowercase") return std::make_shared<Lowercase>();
  if (t == "Strip") return std::make_shared<Strip>(j.boolean("strip_left", true), j.boolean("strip_right", true));
  if (t == "StripAccents") return std::make_shared<StripAccents>();
  if (t == "Replace") return std::make_shared<Replace>(pattern_from_json(j.at("pattern")), j.str("content"));
  if (t == "Prepend") return std::make_shared<Prepend>(j.str("prepend"));
  if (t == "ByteLevel") return std::make_shared<ByteLevelNormalizer>();
  if (t == "BertNormalizer") {
    bool lower = j.boolean("lowercase", true);
    // strip_accents: null means "same as lowercase" (BERT's uncased models strip, cased ones keep accents).
    bool strip = j.has("strip_accents") ? j.boolean("strip_accents", lower) : lower;
    return std::make_shared<BertNormalizer>(j.boolean("clean_text", true), j.boolean("handle_chinese_chars", true),
                                            strip, lower);
  }
  JsonAt list = j.at("normalizers");
  if (!list.value.is_array()) list.error("expected an array");
  std::vector<std::shared_ptr<const Normalizer>> items;
  for (size_t i = 0; i < list.value.size(); ++i)
    if (auto n = normalizer_from_json(list.at(i))) items.push_back(std::move(n));
  return std::make_shared<SequenceNormalizer>(std::move(items));
}

}  // namespace glint::tok
