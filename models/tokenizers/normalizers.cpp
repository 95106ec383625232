#include "models/tokenizers/normalizers.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace glint::tok {

namespace {

utf8proc_option_t form_options(UnicodeForm form) {
  int o = UTF8PROC_STABLE;
  switch (form) {
    case UnicodeForm::kNFC:
      o |= UTF8PROC_COMPOSE;
      break;
    case UnicodeForm::kNFD:
      o |= UTF8PROC_DECOMPOSE;
      break;
    case UnicodeForm::kNFKC:
      o |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case UnicodeForm::kNFKD:
      o |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  return utf8proc_option_t(o);
}

std::string utf8proc_normalize(std::string_view s, utf8proc_option_t options) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()), &out, options);
  if (n < 0) return std::string(s);  // cannot happen on valid UTF-8; keep the text rather than lose it
  std::string r(reinterpret_cast<char*>(out), size_t(n));
  std::free(out);
  return r;
}

int ccc(char32_t c) { return c < 0x300 ? 0 : utf8proc_get_property(utf8proc_int32_t(c))->combining_class; }

// The (character, change) stream of HF's unicode_normalization_alignments: full decomposition of each character
// (its first code point replaces it, the others are inserted), then canonical ordering, which moves the changes
// with their characters.
std::vector<Change> decomposed(std::string_view t, bool compat) {
  std::vector<Change> out;
  std::vector<int> classes;
  int options = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
  utf8proc_int32_t buf[32];
  for (size_t i = 0; i < t.size();) {
    char32_t c = next_char(t, i);
    int boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(utf8proc_int32_t(c), buf, 32, utf8proc_option_t(options), &boundclass);
    if (n < 0 || n > 32) {
      buf[0] = utf8proc_int32_t(c);
      n = 1;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      out.push_back({char32_t(buf[k]), k == 0 ? 0 : 1});
      classes.push_back(ccc(char32_t(buf[k])));
    }
  }
  // Stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < out.size();) {
    if (classes[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && classes[j] != 0) ++j;
    std::vector<size_t> order(j - i);
    for (size_t k = 0; k < order.size(); ++k) order[k] = i + k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return classes[a] < classes[b]; });
    std::vector<Change> run;
    for (size_t k : order) run.push_back(out[k]);
    std::copy(run.begin(), run.end(), out.begin() + i);
    i = j;
  }
  return out;
}

// Primary composite of a + b, or 0.
char32_t compose_pair(char32_t a, char32_t b) {
  utf8proc_int32_t buf[2] = {utf8proc_int32_t(a), utf8proc_int32_t(b)};
  utf8proc_ssize_t n = utf8proc_normalize_utf32(buf, 2, UTF8PROC_COMPOSE);
  return n == 1 ? char32_t(buf[0]) : 0;
}

// Canonical composition over the decomposed stream, as unicode_normalization_alignments' Recompositions: a
// composed character's change is the composee's + the absorbed one's - 1.
std::vector<Change> recomposed(const std::vector<Change>& in) {
  std::vector<Change> out, buffer;
  std::optional<Change> composee;
  int last_ccc = -1;  // -1: none
  for (const Change& ch : in) {
    int cls = ccc(ch.c);
    if (!composee) {
      if (cls != 0) {
        out.push_back(ch);
        continue;
      }
      composee = ch;
      continue;
    }
    if (last_ccc < 0) {
      if (char32_t r = compose_pair(composee->c, ch.c)) {
        composee = Change{r, composee->change + ch.change - 1};
        continue;
      }
      if (cls == 0) {
        out.push_back(*composee);
        composee = ch;
        continue;
      }
      buffer.push_back(ch);
      last_ccc = cls;
      continue;
    }
    if (last_ccc >= cls) {  // blocked from the composee
      if (cls == 0) {
        out.push_back(*composee);
        out.insert(out.end(), buffer.begin(), buffer.end());
        buffer.clear();
        composee = ch;
        last_ccc = -1;
        continue;
      }
      buffer.push_back(ch);
      last_ccc = cls;
      continue;
    }
    if (char32_t r = compose_pair(composee->c, ch.c)) {
      composee = Change{r, composee->change + ch.change - 1};
      continue;
    }
    buffer.push_back(ch);
    last_ccc = cls;
  }
  if (composee) out.push_back(*composee);
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

}  // namespace

void unicode_normalize(NormalizedString& s, UnicodeForm form) {
  const std::string& t = s.text();
  bool ascii = true;
  for (char c : t) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) return;
  if (utf8proc_normalize(t, form_options(form)) == t) return;
  bool compat = form == UnicodeForm::kNFKC || form == UnicodeForm::kNFKD;
  std::vector<Change> dest = decomposed(t, compat);
  if (form == UnicodeForm::kNFC || form == UnicodeForm::kNFKC) dest = recomposed(dest);
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
    s.filter([](char32_t c) { return !is_combining_mark(c); });
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
          if (is_chinese_char(c))
            dest.insert(dest.end(), {{' ', 0}, {c, 1}, {' ', 1}});
          else
            dest.push_back({c, 0});
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
