#include "models/tokenizers/decoders.h"

#include "models/tokenizers/byte_level.h"
#include "models/tokenizers/unicode.h"

namespace glint::tok {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos);
  s = std::move(out);
}

class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t mark = bytes.size();
      bool all = true;
      for (size_t i = 0; i < t.size() && all;) {
        int b = unicode_to_byte(next_char(t, i));
        if (b < 0)
          all = false;
        else
          bytes.push_back(char(b));
      }
      if (!all) {  // a token outside the byte alphabet (an added token) passes through as it is
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, sanitize_utf8(bytes));
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepend) : replacement_(std::move(replacement)), prepend_(prepend) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], replacement_, i == 0 && prepend_ ? "" : " ");
  }

 private:
  std::string replacement_;
  bool prepend_;
};

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        size_t at = t.find(prefix_);
        if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0)
          t.erase(at, prefix_.size());
        else
          t.insert(0, " ");
      }
      if (cleanup_) t = wordpiece_cleanup(std::move(t));
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (!pending_count) return;
      if (is_valid_utf8(pending))
        out.push_back(pending);
      else
        for (size_t k = 0; k < pending_count; ++k) out.push_back("\xEF\xBF\xBD");
      pending.clear();
      pending_count = 0;
    };
    for (std::string& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
          std::isxdigit(static_cast<unsigned char>(t[3])) && std::isxdigit(static_cast<unsigned char>(t[4])))
        byte = std::stoi(t.substr(3, 2), nullptr, 16);
      if (byte >= 0) {
        pending.push_back(char(byte));
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<char32_t> chars;
      for (size_t i = 0; i < t.size();) chars.push_back(next_char(t, i));
      size_t begin = 0, end = chars.size();
      while (begin < start_ && begin < end && chars[begin] == content_) ++begin;
      for (size_t k = 0; k < stop_ && end > begin && chars[end - 1] == content_; ++k) --end;
      std::string out;
      for (size_t i = begin; i < end; ++i) append_utf8(out, chars[i]);
      t = std::move(out);
    }
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<Match> found = pattern_.find_all(t);
      if (found.empty()) continue;
      std::string out;
      size_t pos = 0;
      for (const Match& m : found) {
        out.append(t, pos, m.start - pos);
        out += content_;
        pos = m.end;
      }
      out.append(t, pos);
      t = std::move(out);
    }
  }

 private:
  Regex pattern_;
  std::string content_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delimiter, bool cleanup)
      : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 && tokens[i] == tokens[i - 1]) continue;
      std::string t = tokens[i];
      replace_all(t, pad_, "");
      if (cleanup_) {
        t = wordpiece_cleanup(std::move(t));
        replace_all(t, delimiter_, " ");
      }
      if (!t.empty()) out.push_back(std::move(t));
    }
    tokens = std::move(out);
  }

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::shared_ptr<const Decoder>> d) : items_(std::move(d)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& d : items_) d->decode_chain(tokens);
  }

 private:
  std::vector<std::shared_ptr<const Decoder>> items_;
};

char32_t single_char(const JsonAt& j, std::string_view key) {
  std::string s = j.str(key);
  size_t i = 0;
  if (s.empty()) j.at(key).error("expected one character");
  return next_char(s, i);
}

}  // namespace

std::string wordpiece_cleanup(std::string s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},           {" !", "!"},   {" ,", ","},     {" ' ", "'"},   {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) replace_all(s, from, to);
  return s;
}

std::shared_ptr<const Decoder> make_byte_level_decoder() { return std::make_shared<ByteLevelDecoder>(); }
std::shared_ptr<const Decoder> make_wordpiece_decoder(std::string prefix, bool cleanup) {
  return std::make_shared<WordPieceDecoder>(std::move(prefix), cleanup);
}

std::shared_ptr<const Decoder> decoder_from_json(const JsonAt& j) {
  if (j.value.is_null()) return nullptr;
  std::string t = j.type("decoder", {"ByteLevel", "Metaspace", "WordPiece", "ByteFallback", "Fuse", "Strip", "Replace",
                                     "BPEDecoder", "CTC", "Sequence"});
  if (t == "ByteLevel") return make_byte_level_decoder();
  if (t == "Metaspace") {
    bool prepend = j.has("prepend_scheme") ? j.str("prepend_scheme") != "never" : j.boolean("add_prefix_space", true);
    return std::make_shared<MetaspaceDecoder>(j.str("replacement", "\u2581"), prepend);
  }
  if (t == "WordPiece") return make_wordpiece_decoder(j.str("prefix", "##"), j.boolean("cleanup", true));
  if (t == "ByteFallback") return std::make_shared<ByteFallbackDecoder>();
  if (t == "Fuse") return std::make_shared<FuseDecoder>();
  if (t == "Strip")
    return std::make_shared<StripDecoder>(single_char(j, "content"), size_t(j.integer("start", 0)),
                                          size_t(j.integer("stop", 0)));
  if (t == "Replace") return std::make_shared<ReplaceDecoder>(pattern_from_json(j.at("pattern")), j.str("content"));
  if (t == "BPEDecoder") return std::make_shared<BpeDecoder>(j.str("suffix", "</w>"));
  if (t == "CTC")
    return std::make_shared<CtcDecoder>(j.str("pad_token", "<pad>"), j.str("word_delimiter_token", "|"),
                                        j.boolean("cleanup", true));
  JsonAt list = j.at("decoders");
  if (!list.value.is_array()) list.error("expected an array");
  std::vector<std::shared_ptr<const Decoder>> items;
  for (size_t i = 0; i < list.value.size(); ++i)
    if (auto d = decoder_from_json(list.at(i))) items.push_back(std::move(d));
  return std::make_shared<SequenceDecoder>(std::move(items));
}

}  // namespace glint::tok
