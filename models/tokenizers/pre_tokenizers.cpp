#include "models/tokenizers/pre_tokenizers.h"

namespace glint::tok {

namespace {

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex), regex_(kGpt2Pattern, false, "ByteLevel") {}

  void pre_tokenize(PreTokenizedString& s) const override {
    s.split([&](NormalizedString&& n) {
      if (add_prefix_space_ && n.text()[0] != ' ') n.prepend(" ");
      if (!use_regex_) return std::vector<NormalizedString>{std::move(n)};
      return n.split(pieces_from_matches(regex_.find_all(n.text()), n.size()), SplitBehavior::kIsolated);
    });
    for (Split& sp : s.splits)
      if (!sp.tokenized) sp.normalized.to_byte_level();
  }

 private:
  bool add_prefix_space_, use_regex_;
  Regex regex_;
};

class SplitPattern : public PreTokenizer {
 public:
  SplitPattern(Regex r, SplitBehavior b, bool invert) : regex_(std::move(r)), behavior_(b), invert_(invert) {}
  void pre_tokenize(PreTokenizedString& s) const override {
    s.split([&](NormalizedString&& n) {
      std::vector<Piece> pieces = pieces_from_matches(regex_.find_all(n.text()), n.size());
      if (invert_)
        for (Piece& p : pieces) p.is_match = !p.is_match;
      return n.split(pieces, behavior_);
    });
  }

 private:
  Regex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

// Splits on a character class with one behaviour (WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit).
template <class Pred>
class CharSplit : public PreTokenizer {
 public:
  CharSplit(Pred p, SplitBehavior b) : pred_(p), behavior_(b) {}
  void pre_tokenize(PreTokenizedString& s) const override {
    s.split([&](NormalizedString&& n) { return n.split(pieces_from_chars(n.text(), pred_), behavior_); });
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};
template <class Pred>
std::shared_ptr<const PreTokenizer> char_split(Pred p, SplitBehavior b) {
  return std::make_shared<CharSplit<Pred>>(p, b);
}

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& s) const override {
    s.split([](NormalizedString&& n) {
      return n.split(pieces_from_chars(n.text(), is_whitespace), SplitBehavior::kRemoved);
    });
    s.split([](NormalizedString&& n) {
      return n.split(pieces_from_chars(n.text(), is_bert_punctuation), SplitBehavior::kIsolated);
    });
  }
};

enum class PrependScheme { kAlways, kFirst, kNever };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split), space_(" ", true, "Metaspace") {
    size_t i = 0;
    replacement_char_ = replacement_.empty() ? U'\u2581' : next_char(replacement_, i);
  }

  void pre_tokenize(PreTokenizedString& s) const override {
    s.split([&](NormalizedString&& n) {
      n.replace(space_, replacement_);
      bool starts = n.text().compare(0, replacement_.size(), replacement_) == 0;
      if (!starts &&
          (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && n.original_start() == 0)))
        n.prepend(replacement_);
      if (!split_) return std::vector<NormalizedString>{std::move(n)};
      char32_t r = replacement_char_;
      return n.split(pieces_from_chars(n.text(), [r](char32_t c) { return c == r; }), SplitBehavior::kMergedWithNext);
    });
  }

 private:
  std::string replacement_;
  char32_t replacement_char_;
  PrependScheme scheme_;
  bool split_;
  Regex space_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::shared_ptr<const PreTokenizer>> p) : items_(std::move(p)) {}
  void pre_tokenize(PreTokenizedString& s) const override {
    for (const auto& p : items_) p->pre_tokenize(s);
  }

 private:
  std::vector<std::shared_ptr<const PreTokenizer>> items_;
};

}  // namespace

SplitBehavior split_behavior_from_json(const JsonAt& j, std::string_view key, SplitBehavior fallback) {
  if (!j.has(key)) return fallback;
  std::string b = j.str(key);
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  j.at(key).error("unknown split behavior '" + b +
                  "' (supported: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
}

std::shared_ptr<const PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_shared<ByteLevel>(add_prefix_space, use_regex);
}

std::shared_ptr<const PreTokenizer> make_bert_pre_tokenizer() { return std::make_shared<BertPreTokenizer>(); }

std::shared_ptr<const PreTokenizer> pre_tokenizer_from_json(const JsonAt& j) {
  if (j.value.is_null()) return nullptr;
  std::string t = j.type("pre-tokenizer", {"ByteLevel", "Split", "Whitespace", "WhitespaceSplit", "BertPreTokenizer",
                                           "Metaspace", "Digits", "Punctuation", "CharDelimiterSplit", "Sequence"});
  if (t == "ByteLevel")
    return make_byte_level_pre_tokenizer(j.boolean("add_prefix_space", true), j.boolean("use_regex", true));
  if (t == "Split")
    return std::make_shared<SplitPattern>(pattern_from_json(j.at("pattern")),
                                          split_behavior_from_json(j, "behavior", SplitBehavior::kIsolated),
                                          j.boolean("invert", false));
  if (t == "Whitespace")
    return std::make_shared<SplitPattern>(Regex("\\w+|[^\\w\\s]+", false, j.file), SplitBehavior::kRemoved, true);
  if (t == "WhitespaceSplit") return char_split(is_whitespace, SplitBehavior::kRemoved);
  if (t == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (t == "Punctuation")
    return char_split(is_bert_punctuation, split_behavior_from_json(j, "behavior", SplitBehavior::kIsolated));
  if (t == "Digits")
    return char_split(is_numeric,
                      j.boolean("individual_digits", false) ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  if (t == "CharDelimiterSplit") {
    std::string d = j.str("delimiter");
    size_t i = 0;
    if (d.empty()) j.at("delimiter").error("expected one character");
    char32_t c = next_char(d, i);
    return char_split([c](char32_t x) { return x == c; }, SplitBehavior::kRemoved);
  }
  if (t == "Metaspace") {
    PrependScheme scheme = PrependScheme::kAlways;
    if (j.has("prepend_scheme")) {
      std::string p = j.str("prepend_scheme");
      if (p == "always")
        scheme = PrependScheme::kAlways;
      else if (p == "first")
        scheme = PrependScheme::kFirst;
      else if (p == "never")
        scheme = PrependScheme::kNever;
      else
        j.at("prepend_scheme").error("unknown prepend_scheme '" + p + "' (supported: always, first, never)");
    } else if (!j.boolean("add_prefix_space", true)) {
      scheme = PrependScheme::kNever;
    }
    return std::make_shared<Metaspace>(j.str("replacement", "\u2581"), scheme, j.boolean("split", true));
  }
  JsonAt list = j.at("pretokenizers");
  if (!list.value.is_array()) list.error("expected an array");
  std::vector<std::shared_ptr<const PreTokenizer>> items;
  for (size_t i = 0; i < list.value.size(); ++i)
    if (auto p = pre_tokenizer_from_json(list.at(i))) items.push_back(std::move(p));
  return std::make_shared<SequencePreTokenizer>(std::move(items));
}

}  // namespace glint::tok
