// The encode pipeline (HF TokenizerImpl): added tokens split out, normalizer, pre-tokenizer, model per word,
// truncation, post-processor, padding; and tokenizer.json loading.
#include "models/tokenizers/tokenizer.h"

#include <omp.h>

#include <exception>
#include <fstream>
#include <sstream>

#include "models/tokenizers/added_tokens.h"
#include "models/tokenizers/decoders.h"
#include "models/tokenizers/model.h"
#include "models/tokenizers/normalizers.h"
#include "models/tokenizers/post_processors.h"
#include "models/tokenizers/pre_tokenizers.h"
#include "models/tokenizers/unicode.h"

namespace glint {

using tok::JsonAt;

std::vector<std::pair<size_t, size_t>> char_offsets(const Encoding& e, std::string_view text) {
  // chars_before[b] = code points before byte b.
  std::vector<size_t> chars_before(text.size() + 1);
  size_t n = 0;
  for (size_t b = 0; b < text.size(); ++b) {
    chars_before[b] = n;
    n += (static_cast<unsigned char>(text[b]) & 0xC0) != 0x80;
  }
  chars_before[text.size()] = n;
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(e.offsets.size());
  for (auto [s, t] : e.offsets)
    out.push_back({chars_before[std::min(s, text.size())], chars_before[std::min(t, text.size())]});
  return out;
}

namespace {

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("tokenizer", path, ": cannot open ", what);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<tok::AddedToken> added_tokens_from_json(const JsonAt& j) {
  std::vector<tok::AddedToken> out;
  if (!j.value.is_array()) j.error("expected an array");
  for (size_t i = 0; i < j.value.size(); ++i) {
    JsonAt t = j.at(i);
    tok::AddedToken a;
    a.content = t.str("content");
    int64_t id = t.integer("id");
    if (id < 0 || id > INT32_MAX) t.at("id").error("id out of range");
    a.id = uint32_t(id);
    a.special = t.boolean("special", false);
    a.single_word = t.boolean("single_word", false);
    a.lstrip = t.boolean("lstrip", false);
    a.rstrip = t.boolean("rstrip", false);
    a.normalized = t.boolean("normalized", !a.special);
    out.push_back(std::move(a));
  }
  return out;
}

Side side_from(const JsonAt& j, std::string_view key) {
  std::string s = j.str(key, "Right");
  if (s == "Right" || s == "right") return Side::kRight;
  if (s == "Left" || s == "left") return Side::kLeft;
  j.at(key).error("expected Left or Right, not '" + s + "'");
}

// Encoding::truncate of HF: the first max_len tokens (or last, for Left) and the rest as overflowing pieces
// advancing max_len - stride tokens each.
void truncate(Encoding& e, size_t max_len, size_t stride, Side side) {
  size_t len = e.size();
  if (max_len >= len) return;
  if (stride >= max_len) fail("tokenizer", "truncation stride ", stride, " must be below the length ", max_len);
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t step = max_len - stride;
  if (side == Side::kRight) {
    for (size_t start = 0; start < len; start += step) {
      size_t stop = std::min(start + max_len, len);
      ranges.push_back({start, stop});
      if (stop == len) break;
    }
  } else {
    for (size_t k = 0; k < len; k += step) {
      size_t stop = len - k, start = stop < max_len ? 0 : stop - max_len;
      ranges.push_back({start, stop});
      if (start == 0) break;
    }
  }
  auto part = [&](size_t a, size_t b) {
    Encoding p;
    p.ids.assign(e.ids.begin() + a, e.ids.begin() + b);
    p.tokens.assign(e.tokens.begin() + a, e.tokens.begin() + b);
    p.offsets.assign(e.offsets.begin() + a, e.offsets.begin() + b);
    p.attention_mask.assign(e.attention_mask.begin() + a, e.attention_mask.begin() + b);
    p.special_tokens_mask.assign(e.special_tokens_mask.begin() + a, e.special_tokens_mask.begin() + b);
    p.type_ids.assign(e.type_ids.begin() + a, e.type_ids.begin() + b);
    return p;
  };
  Encoding first = part(ranges[0].first, ranges[0].second);
  for (size_t i = 1; i < ranges.size(); ++i) first.overflowing.push_back(part(ranges[i].first, ranges[i].second));
  e = std::move(first);
}

void pad_one(Encoding& e, size_t target, uint32_t id, const std::string& token, uint32_t type_id, Side side) {
  for (Encoding& o : e.overflowing) pad_one(o, target, id, token, type_id, side);
  if (e.size() >= target) return;
  size_t n = target - e.size();
  auto grow = [&](auto& v, auto value) {
    if (side == Side::kRight)
      v.insert(v.end(), n, value);
    else
      v.insert(v.begin(), n, value);
  };
  grow(e.ids, id);
  grow(e.tokens, token);
  grow(e.offsets, std::pair<size_t, size_t>{0, 0});
  grow(e.attention_mask, 0u);
  grow(e.special_tokens_mask, 1u);
  grow(e.type_ids, type_id);
}

}  // namespace

Tokenizer Tokenizer::assemble(std::shared_ptr<const tok::Model> model, std::vector<tok::AddedToken> added,
                              std::shared_ptr<const tok::Normalizer> n, std::shared_ptr<const tok::PreTokenizer> p,
                              std::shared_ptr<const tok::PostProcessor> pp, std::shared_ptr<const tok::Decoder> d) {
  Tokenizer t;
  t.added_ = std::make_shared<tok::AddedVocabulary>(std::move(added), *model, n.get());
  t.model_ = std::move(model);
  t.normalizer_ = std::move(n);
  t.pre_tokenizer_ = std::move(p);
  t.post_processor_ = std::move(pp);
  t.decoder_ = std::move(d);
  return t;
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::string text = read_text_file(path, "the tokenizer file");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) fail("tokenizer", path, ": not valid JSON");
  return from_json(j, path);
}

Tokenizer Tokenizer::from_json(const nlohmann::json& j, const std::string& source) {
  JsonAt root{j, source, ""};
  if (!j.is_object()) root.error("expected a JSON object (a tokenizer.json)");
  auto member = [&](const char* key) -> JsonAt {
    static const nlohmann::json null_value;
    auto it = j.find(key);
    return {it == j.end() ? null_value : *it, source, key};
  };
  auto model = tok::model_from_json(root.at("model"));
  auto normalizer = tok::normalizer_from_json(member("normalizer"));
  std::vector<tok::AddedToken> added;
  if (root.has("added_tokens")) added = added_tokens_from_json(root.at("added_tokens"));
  Tokenizer t = assemble(
      std::move(model), std::move(added), std::move(normalizer), tok::pre_tokenizer_from_json(member("pre_tokenizer")),
      tok::post_processor_from_json(member("post_processor")), tok::decoder_from_json(member("decoder")));
  if (root.has("truncation")) {
    JsonAt tr = root.at("truncation");
    t.default_options_.max_length = size_t(tr.integer("max_length", 512));
    t.default_options_.stride = size_t(tr.integer("stride", 0));
    t.default_options_.truncation_side = side_from(tr, "direction");
  }
  if (root.has("padding")) {
    JsonAt pd = root.at("padding");
    t.default_options_.padding = Padding::kLongest;
    if (pd.has("strategy") && pd.at("strategy").value.is_object()) {
      JsonAt fixed = pd.at("strategy");
      t.default_options_.padding = Padding::kMaxLength;
      t.default_options_.max_length = size_t(fixed.integer("Fixed"));
    }
    t.default_options_.pad_side = side_from(pd, "direction");
    t.default_options_.pad_to_multiple_of = size_t(pd.integer("pad_to_multiple_of", 0));
    t.pad_id_ = uint32_t(pd.integer("pad_id", 0));
    t.default_options_.pad_type_id = uint32_t(pd.integer("pad_type_id", 0));
    t.pad_token_ = pd.str("pad_token", "[PAD]");
  }
  return t;
}

void Tokenizer::set_config(TokenizerConfig c) {
  config_ = std::move(c);
  default_options_.pad_side = config_.padding_side;
  default_options_.truncation_side = config_.truncation_side;
  if (!pad_id_ && config_.pad_token)
    if (auto id = token_to_id(*config_.pad_token)) {
      pad_id_ = *id;
      pad_token_ = *config_.pad_token;
    }
}

Encoding Tokenizer::encode_one(std::string_view raw, const EncodeOptions& o) const {
  std::string owned;
  std::string_view text = raw;
  if (!tok::is_valid_utf8(raw)) {
    owned = tok::sanitize_utf8(raw);
    text = owned;
  }
  tok::PreTokenizedString pts = added_->extract_and_normalize(text, normalizer_.get());
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pts);
  Encoding e;
  for (tok::Split& sp : pts.splits) {
    if (!sp.tokenized) {
      model_->tokenize(sp.normalized.text(), sp.tokens);
    }
    for (tok::Token& t : sp.tokens) {
      tok::Span s = sp.normalized.original_span(t.start, t.end);
      e.push(t.id, std::move(t.value), {s.start, s.end}, 0, 0);
    }
  }
  if (o.max_length) {
    size_t added = o.add_special_tokens && post_processor_ ? post_processor_->added_tokens() : 0;
    if (o.max_length < added)
      fail("tokenizer", "truncation max_length ", o.max_length, " is below the ", added,
           " special tokens the post-processor adds");
    truncate(e, o.max_length - added, o.stride, o.truncation_side);
  }
  if (post_processor_) {
    post_processor_->process(e, o.add_special_tokens);
    for (Encoding& over : e.overflowing) post_processor_->process(over, o.add_special_tokens);
  }
  return e;
}

void Tokenizer::pad(std::vector<Encoding>& batch, const EncodeOptions& o) const {
  if (o.padding == Padding::kNone || batch.empty()) return;
  std::optional<uint32_t> id = o.pad_id ? o.pad_id : pad_id_;
  if (!o.pad_id && o.pad_token) id = token_to_id(*o.pad_token);
  if (!id) fail("tokenizer", "padding needs a pad token; this tokenizer has none (set EncodeOptions::pad_token)");
  const std::string token = o.pad_token ? *o.pad_token : pad_token_;
  size_t target = o.max_length;
  if (o.padding == Padding::kLongest) {
    target = 0;
    for (const Encoding& e : batch) {
      target = std::max(target, e.size());
      for (const Encoding& over : e.overflowing) target = std::max(target, over.size());
    }
  }
  if (o.pad_to_multiple_of && target % o.pad_to_multiple_of)
    target += o.pad_to_multiple_of - target % o.pad_to_multiple_of;
  for (Encoding& e : batch) pad_one(e, target, *id, token, o.pad_type_id, o.pad_side);
}

Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  EncodeOptions o = default_options_;
  o.add_special_tokens = add_special_tokens;
  std::vector<Encoding> one{encode_one(text, o)};
  if (o.padding == Padding::kMaxLength) pad(one, o);
  return std::move(one[0]);
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts, const EncodeOptions& o) const {
  std::vector<Encoding> out(texts.size());
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 16)
  for (long i = 0; i < long(texts.size()); ++i) {
    try {
      out[i] = encode_one(texts[i], o);
    } catch (...) {
#pragma omp critical(glint_tokenizer_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  pad(out, o);
  return out;
}

std::string Tokenizer::decode(const std::vector<uint32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (uint32_t id : ids) {
    if (const tok::AddedToken* a = added_->find(id)) {
      if (!(skip_special_tokens && a->special)) tokens.push_back(a->content);
    } else if (const std::string* t = model_->id_to_token(id)) {
      tokens.push_back(*t);
    }
  }
  if (!decoder_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  decoder_->decode_chain(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

std::optional<uint32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = added_->token_to_id(token)) return id;
  return model_->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(uint32_t id) const {
  if (const tok::AddedToken* a = added_->find(id)) return a->content;
  if (const std::string* t = model_->id_to_token(id)) return *t;
  return std::nullopt;
}

size_t Tokenizer::vocab_size() const {
  size_t n = model_->vocab_size();
  for (const tok::AddedToken& a : added_->tokens())
    if (!model_->token_to_id(a.content)) ++n;
  return n;
}

const std::vector<tok::AddedToken>& Tokenizer::added_tokens() const { return added_->tokens(); }

}  // namespace glint
