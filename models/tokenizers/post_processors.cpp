#include "models/tokenizers/post_processors.h"

#include <sstream>

#include "models/tokenizers/byte_level.h"
#include "models/tokenizers/unicode.h"

namespace glint::tok {

void trim_byte_level_offsets(Encoding& e, bool add_prefix_space) {
  auto is_space = [](char32_t c) { return c == 0x120 /* 'Ġ', the byte-level space */ || is_whitespace(c); };
  for (size_t i = 0; i < e.size(); ++i) {
    const std::string& t = e.tokens[i];
    auto& [start, end] = e.offsets[i];
    std::vector<char32_t> chars;
    for (size_t k = 0; k < t.size();) chars.push_back(next_char(t, k));
    size_t lead = 0, trail = 0;
    while (lead < chars.size() && is_space(chars[lead])) ++lead;
    while (trail < chars.size() && is_space(chars[chars.size() - 1 - trail])) ++trail;
    if (lead > 0) {
      bool is_first = i == 0 || start == 0;
      if (is_first && add_prefix_space && lead == 1) lead = 0;
      start = std::min(start + lead, end);
    }
    if (trail > 0 && end >= trail) end = std::max(end - trail, start);
  }
}

namespace {

struct SpecialEntry {
  std::vector<uint32_t> ids;
  std::vector<std::string> tokens;
};

// One piece of a template: a special token (by name) or the sequence, with its type id.
struct TemplatePiece {
  bool is_sequence;
  std::string name;
  uint32_t type_id;
};

class TemplateProcessing : public PostProcessor {
 public:
  TemplateProcessing(std::vector<TemplatePiece> single, std::unordered_map<std::string, SpecialEntry> specials)
      : single_(std::move(single)), specials_(std::move(specials)) {
    for (const TemplatePiece& p : single_)
      if (!p.is_sequence) added_ += specials_.at(p.name).ids.size();
  }
  size_t added_tokens() const override { return added_; }
  void process(Encoding& e, bool add_special_tokens) const override {
    Encoding out;
    for (const TemplatePiece& p : single_) {
      if (p.is_sequence) {
        for (size_t i = 0; i < e.size(); ++i)
          out.push(e.ids[i], std::move(e.tokens[i]), e.offsets[i], e.special_tokens_mask[i], p.type_id);
      } else if (add_special_tokens) {
        const SpecialEntry& s = specials_.at(p.name);
        for (size_t i = 0; i < s.ids.size(); ++i) out.push(s.ids[i], s.tokens[i], {0, 0}, 1, p.type_id);
      }
    }
    out.overflowing = std::move(e.overflowing);
    e = std::move(out);
  }

 private:
  std::vector<TemplatePiece> single_;
  std::unordered_map<std::string, SpecialEntry> specials_;
  size_t added_ = 0;
};

// BertProcessing and RobertaProcessing: cls A sep, Roberta trimming byte-level offsets first.
class ClsSepProcessing : public PostProcessor {
 public:
  ClsSepProcessing(std::pair<std::string, uint32_t> cls, std::pair<std::string, uint32_t> sep, bool trim, bool prefix)
      : cls_(std::move(cls)), sep_(std::move(sep)), trim_offsets_(trim), add_prefix_space_(prefix) {}
  size_t added_tokens() const override { return 2; }
  void process(Encoding& e, bool add_special_tokens) const override {
    if (trim_offsets_) trim_byte_level_offsets(e, add_prefix_space_);
    if (!add_special_tokens) return;
    Encoding out;
    out.push(cls_.second, cls_.first, {0, 0}, 1, 0);
    for (size_t i = 0; i < e.size(); ++i)
      out.push(e.ids[i], std::move(e.tokens[i]), e.offsets[i], e.special_tokens_mask[i], 0);
    out.push(sep_.second, sep_.first, {0, 0}, 1, 0);
    out.overflowing = std::move(e.overflowing);
    e = std::move(out);
  }

 private:
  std::pair<std::string, uint32_t> cls_, sep_;
  bool trim_offsets_, add_prefix_space_;
};

class ByteLevelProcessing : public PostProcessor {
 public:
  ByteLevelProcessing(bool trim, bool prefix) : trim_offsets_(trim), add_prefix_space_(prefix) {}
  size_t added_tokens() const override { return 0; }
  void process(Encoding& e, bool) const override {
    if (trim_offsets_) trim_byte_level_offsets(e, add_prefix_space_);
  }

 private:
  bool trim_offsets_, add_prefix_space_;
};

class SequenceProcessing : public PostProcessor {
 public:
  explicit SequenceProcessing(std::vector<std::shared_ptr<const PostProcessor>> p) : items_(std::move(p)) {}
  size_t added_tokens() const override {
    size_t n = 0;
    for (const auto& p : items_) n += p->added_tokens();
    return n;
  }
  void process(Encoding& e, bool add_special_tokens) const override {
    for (const auto& p : items_) p->process(e, add_special_tokens);
  }

 private:
  std::vector<std::shared_ptr<const PostProcessor>> items_;
};

std::pair<std::string, uint32_t> token_pair(const JsonAt& j) {
  if (!j.value.is_array() || j.value.size() != 2 || !j.value[0].is_string() || !j.value[1].is_number_integer() ||
      j.value[1].get<int64_t>() < 0)
    j.error("expected [token, id]");
  return {j.value[0].get<std::string>(), j.value[1].get<uint32_t>()};
}

// "[CLS]:0 $A:0 [SEP]" -> pieces (type id 0 when omitted; "$" alone or "$A"/"$B" name the sequences).
std::vector<TemplatePiece> parse_template_string(const std::string& s, const JsonAt& where) {
  std::vector<TemplatePiece> out;
  std::istringstream in(s);
  std::string word;
  while (in >> word) {
    uint32_t type_id = 0;
    size_t colon = word.rfind(':');
    if (colon != std::string::npos && colon + 1 < word.size()) {
      try {
        type_id = uint32_t(std::stoul(word.substr(colon + 1)));
      } catch (const std::exception&) {
        where.error("bad type id in template piece '" + word + "'");
      }
      word = word.substr(0, colon);
    }
    if (word[0] == '$')
      out.push_back({true, word, type_id});
    else
      out.push_back({false, word, type_id});
  }
  return out;
}

std::vector<TemplatePiece> template_from_json(const JsonAt& j) {
  if (j.value.is_string()) return parse_template_string(j.value.get<std::string>(), j);
  if (!j.value.is_array()) j.error("expected a template (array of pieces or string)");
  std::vector<TemplatePiece> out;
  for (size_t i = 0; i < j.value.size(); ++i) {
    JsonAt p = j.at(i);
    if (p.has("Sequence")) {
      JsonAt s = p.at("Sequence");
      if (s.str("id") != "A") s.error("only sequence A is supported (pair encoding is not)");
      out.push_back({true, "A", uint32_t(s.integer("type_id", 0))});
    } else if (p.has("SpecialToken")) {
      JsonAt s = p.at("SpecialToken");
      out.push_back({false, s.str("id"), uint32_t(s.integer("type_id", 0))});
    } else {
      p.error("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  return out;
}

}  // namespace

std::shared_ptr<const PostProcessor> make_template_processing(
    const std::string& single, const std::vector<std::pair<std::string, uint32_t>>& special_tokens) {
  std::unordered_map<std::string, SpecialEntry> specials;
  for (const auto& [name, id] : special_tokens) specials[name] = {{id}, {name}};
  json dummy;
  return std::make_shared<TemplateProcessing>(parse_template_string(single, {dummy, "<template>", ""}),
                                              std::move(specials));
}

std::shared_ptr<const PostProcessor> make_byte_level_post_processor(bool trim_offsets, bool add_prefix_space) {
  return std::make_shared<ByteLevelProcessing>(trim_offsets, add_prefix_space);
}

std::shared_ptr<const PostProcessor> post_processor_from_json(const JsonAt& j) {
  if (j.value.is_null()) return nullptr;
  std::string t =
      j.type("post-processor", {"TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence"});
  if (t == "TemplateProcessing") {
    std::vector<TemplatePiece> single = template_from_json(j.at("single"));
    std::unordered_map<std::string, SpecialEntry> specials;
    if (j.has("special_tokens")) {
      JsonAt st = j.at("special_tokens");
      if (!st.value.is_object()) st.error("expected an object");
      for (const auto& [name, v] : st.value.items()) {
        JsonAt e = st.at(name);
        SpecialEntry s;
        JsonAt ids = e.at("ids"), tokens = e.at("tokens");
        if (!ids.value.is_array() || !tokens.value.is_array() || ids.value.size() != tokens.value.size())
          e.error("ids and tokens must be arrays of the same length");
        for (size_t i = 0; i < ids.value.size(); ++i) {
          if (!ids.value[i].is_number_integer() || ids.value[i].get<int64_t>() < 0 || !tokens.value[i].is_string())
            e.error("bad id or token");
          s.ids.push_back(ids.value[i].get<uint32_t>());
          s.tokens.push_back(tokens.value[i].get<std::string>());
        }
        specials[name] = std::move(s);
      }
    }
    for (const TemplatePiece& p : single)
      if (!p.is_sequence && !specials.count(p.name))
        j.at("single").error("template uses special token '" + p.name + "' missing from special_tokens");
    return std::make_shared<TemplateProcessing>(std::move(single), std::move(specials));
  }
  if (t == "BertProcessing")
    return std::make_shared<ClsSepProcessing>(token_pair(j.at("cls")), token_pair(j.at("sep")), false, false);
  if (t == "RobertaProcessing")
    return std::make_shared<ClsSepProcessing>(token_pair(j.at("cls")), token_pair(j.at("sep")),
                                              j.boolean("trim_offsets", true), j.boolean("add_prefix_space", true));
  if (t == "ByteLevel")
    return make_byte_level_post_processor(j.boolean("trim_offsets", true), j.boolean("add_prefix_space", true));
  JsonAt list = j.at("processors");
  if (!list.value.is_array()) list.error("expected an array");
  std::vector<std::shared_ptr<const PostProcessor>> items;
  for (size_t i = 0; i < list.value.size(); ++i)
    if (auto p = post_processor_from_json(list.at(i))) items.push_back(std::move(p));
  return std::make_shared<SequenceProcessing>(std::move(items));
}

}  // namespace glint::tok
