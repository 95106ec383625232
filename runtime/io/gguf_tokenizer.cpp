// Follows transformers' integrations/gguf/gguf_tokenizer_mapping.py (v5): which builder per tokenizer.ggml.model,
// the split regex per tokenizer.ggml.pre, control tokens as special added tokens, user-defined ones as plain added
// tokens, and generate_merges() for sentencepiece vocabularies that carry scores instead of merges.
#include "runtime/io/gguf_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

#include "runtime/core/error.h"

namespace glint::io {

namespace {

using nlohmann::json;
constexpr int kControl = 3, kUserDefined = 4;  // llama.cpp token types
constexpr size_t kMaxMergedLength = 512;       // code points; see merges_from_scores

// Split regexes transformers applies before byte-level BPE, by tokenizer.ggml.pre (others keep GPT-2's ByteLevel).
constexpr std::string_view kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen35Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kTekkenSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt4oSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::optional<std::string_view> split_regex(std::string_view pre) {
  static const std::map<std::string_view, std::string_view> table = {
      {"llama3", kLlama3Split},       {"llama-v3", kLlama3Split},
      {"llama-bpe", kLlama3Split},    {"falcon3", kLlama3Split},
      {"falcon-h1", kLlama3Split},    {"pixtral", kLlama3Split},
      {"midm-2.0", kLlama3Split},     {"lfm2", kLlama3Split},
      {"jina-v5-nano", kLlama3Split}, {"dbrx", kLlama3Split},
      {"smaug-bpe", kLlama3Split},    {"tekken", kTekkenSplit},
      {"qwen2", kQwen2Split},         {"deepseek-r1-qwen", kQwen2Split},
      {"kormo", kQwen2Split},         {"f2llmv2", kQwen2Split},
      {"megrez", kQwen2Split},        {"qwen35", kQwen35Split},
      {"gpt-4o", kGpt4oSplit},        {"llama4", kGpt4oSplit},
      {"kanana2", kGpt4oSplit},       {"talkie", kGpt4oSplit},
      {"minimax-m2", kGpt4oSplit},
  };
  auto it = table.find(pre);
  return it == table.end() ? std::nullopt : std::optional(it->second);
}

// Code points of a UTF-8 string; nullopt when it is not valid UTF-8.
std::optional<std::vector<int32_t>> code_points(std::string_view s) {
  std::vector<int32_t> out;
  auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = utf8proc_ssize_t(s.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return std::nullopt;
    out.push_back(cp);
    p += n;
    left -= n;
  }
  return out;
}

std::string utf8(int32_t cp) {
  std::array<utf8proc_uint8_t, 4> buf;
  auto n = utf8proc_encode_char(cp, buf.data());
  return std::string(reinterpret_cast<const char*>(buf.data()), size_t(n));
}

// GPT-2's bytes_to_unicode(): printable bytes stand for themselves, the other 68 map to U+0100 upwards in order.
const std::array<int32_t, 256>& byte_to_char() {
  static const std::array<int32_t, 256> table = [] {
    std::array<int32_t, 256> t{};
    int32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

bool in_byte_alphabet(std::string_view token) {
  auto cps = code_points(token);
  if (!cps) return false;
  for (int32_t cp : *cps)
    if (cp >= 256 + 68 || (cp < 256 && byte_to_char()[cp] != cp)) return false;
  return true;
}

// A byte-level vocabulary entry spelled in raw text (llama.cpp keeps some that way) respelled in the byte alphabet.
std::string byte_level_spelling(std::string_view token) {
  if (in_byte_alphabet(token)) return std::string(token);
  std::string out;
  for (unsigned char b : token) out += utf8(byte_to_char()[b]);
  return out;
}

struct Meta {
  const GgufFile& f;
  std::vector<std::string_view> tokens;
  std::vector<int64_t> types;
  std::optional<int64_t> bos, eos, unk, pad;
  bool add_bos = false, add_eos = false;
};

std::optional<int64_t> token_id(const Meta& m, std::string_view key) {
  auto id = m.f.find_int(key);
  if (id && (*id < 0 || *id >= int64_t(m.tokens.size())))
    fail("gguf", m.f.path(), ": ", key, " = ", *id, " is not a token id (vocabulary of ", m.tokens.size(), ")");
  return id;
}

// "a b" -> ["a", "b"]: merges name two tokens joined by one space.
json merges_from_file(const Meta& m, const GgufValue& v) {
  json out = json::array();
  auto merges = v.as_strings();
  for (size_t i = 0; i < merges.size(); ++i) {
    size_t sp = merges[i].find(' ');
    if (!code_points(merges[i])) fail("gguf", m.f.path(), ": tokenizer.ggml.merges[", i, "] is not valid UTF-8");
    if (sp == std::string_view::npos || merges[i].find(' ', sp + 1) != std::string_view::npos)
      fail("gguf", m.f.path(), ": tokenizer.ggml.merges[", i, "] is not two tokens separated by one space");
    out.push_back({std::string(merges[i].substr(0, sp)), std::string(merges[i].substr(sp + 1))});
  }
  return out;
}

// transformers' generate_merges(vocab, vocab_scores): every split of every token into two vocabulary entries,
// ordered by the merged token's score (then the lengths of the parts), best first; ties keep vocabulary order.
json merges_from_scores(const Meta& m) {
  const GgufValue* sv = m.f.find("tokenizer.ggml.scores");
  if (!sv) fail("gguf", m.f.path(), ": a sentencepiece tokenizer needs tokenizer.ggml.merges or tokenizer.ggml.scores");
  std::vector<double> scores = sv->as_floats();
  if (scores.size() != m.tokens.size())
    fail("gguf", m.f.path(), ": tokenizer.ggml.scores has ", scores.size(), " entries for ", m.tokens.size(),
         " tokens");
  std::unordered_map<std::string_view, int64_t> id;  // last index wins, as in a dict comprehension
  for (size_t i = 0; i < m.tokens.size(); ++i) id[m.tokens[i]] = int64_t(i);
  // Python dict order: first position, last score.
  std::unordered_map<std::string_view, double> score;
  std::vector<std::string_view> order;
  for (size_t i = 0; i < m.tokens.size(); ++i)
    if (score.insert_or_assign(m.tokens[i], scores[i]).second) order.push_back(m.tokens[i]);

  struct Merge {
    std::string_view left, right;
    double score;
    size_t left_len, right_len;  // in code points, as Python's len()
  };
  std::vector<Merge> merges;
  for (std::string_view tok : order) {
    auto cps = code_points(tok);  // valid: checked when the tokens were read
    // Trying every split costs O(length^2): a hostile file with one huge token must not stall the load. Real
    // sentencepiece pieces are a few dozen characters.
    if (cps->size() > kMaxMergedLength) continue;
    std::vector<Merge> local;
    size_t byte = 0;
    for (size_t k = 1; k < cps->size(); ++k) {
      byte += utf8((*cps)[k - 1]).size();
      std::string_view l = tok.substr(0, byte), r = tok.substr(byte);
      if (id.count(l) && id.count(r)) local.push_back({l, r, score[tok], k, cps->size() - k});
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      return std::pair(id[a.left], id[a.right]) < std::pair(id[b.left], id[b.right]);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    return std::tuple(a.score, a.left_len, a.right_len) > std::tuple(b.score, b.left_len, b.right_len);
  });
  json out = json::array();
  for (const Merge& mg : merges) out.push_back({std::string(mg.left), std::string(mg.right)});
  return out;
}

json added_token(const std::string& content, int64_t id, bool special) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

// Control tokens and the bos/eos/unk/pad tokens become special added tokens, user-defined ones plain added tokens;
// ids are the vocabulary's; the list is ordered by id, as tokenizers serialises it.
json added_tokens(const Meta& m, const json& vocab, bool byte_level) {
  std::map<int64_t, json> by_id;
  std::map<std::string, bool> seen;
  auto add = [&](std::string_view tok, bool special) {
    std::string s(tok);
    auto it = vocab.find(s);
    if (it == vocab.end() || seen.count(s)) return;
    seen[s] = true;
    int64_t id = it->get<int64_t>();
    by_id[id] = added_token(s, id, special);
  };
  for (auto id : {m.bos, m.eos, m.unk, m.pad})
    if (id) add(m.tokens[size_t(*id)], true);
  for (size_t i = 0; i < m.types.size(); ++i)
    if (m.types[i] == kControl && (!byte_level || in_byte_alphabet(m.tokens[i]))) add(m.tokens[i], true);
  for (size_t i = 0; i < m.types.size(); ++i)
    if (m.types[i] == kUserDefined) add(m.tokens[i], false);
  json out = json::array();
  for (auto& [id, t] : by_id) out.push_back(std::move(t));
  return out;
}

// transformers' update_post_processor(): "<bos>:0 $A:0 <eos>:0" and the pair form, from add_bos / add_eos.
json template_processing(const Meta& m) {
  json single = json::array(), pair = json::array(), specials = json::object();
  auto special = [&](int64_t id, int type_id) {
    std::string tok(m.tokens[size_t(id)]);
    specials[tok] = {{"id", tok}, {"ids", {id}}, {"tokens", {tok}}};
    return json{{"SpecialToken", {{"id", tok}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) { return json{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
  bool bos = m.add_bos && m.bos, eos = m.add_eos && m.eos;
  if (bos) single.push_back(special(*m.bos, 0));
  single.push_back(sequence("A", 0));
  if (eos) single.push_back(special(*m.eos, 0));
  pair = single;
  if (bos) pair.push_back(special(*m.bos, 1));
  pair.push_back(sequence("B", 1));
  if (eos) pair.push_back(special(*m.eos, 1));
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

json bpe_model(json vocab, json merges, bool sentencepiece) {
  json null_or_empty = sentencepiece ? json(nullptr) : json("");
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", null_or_empty},
          {"end_of_word_suffix", null_or_empty},
          {"fuse_unk", sentencepiece},
          {"byte_fallback", sentencepiece},
          {"ignore_merges", false},
          {"vocab", std::move(vocab)},
          {"merges", std::move(merges)}};
}

json byte_level(bool add_prefix_space, bool use_regex) {
  return {
      {"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json gpt2_tokenizer(const Meta& m, std::string_view pre) {
  json vocab = json::object();
  for (size_t i = 0; i < m.tokens.size(); ++i) vocab[byte_level_spelling(m.tokens[i])] = int64_t(i);
  const GgufValue* mv = m.f.find("tokenizer.ggml.merges");
  json merges = mv ? merges_from_file(m, *mv) : json::array();
  json pre_tokenizer = byte_level(false, true);
  if (auto regex = split_regex(pre))
    pre_tokenizer = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", *regex}}}, {"behavior", "Isolated"}, {"invert", false}},
          byte_level(false, false)}}};
  json t = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  t["added_tokens"] = added_tokens(m, vocab, true);
  t["normalizer"] = nullptr;
  t["pre_tokenizer"] = pre_tokenizer;
  t["post_processor"] = template_processing(m);
  t["decoder"] = byte_level(true, true);
  t["model"] = bpe_model(std::move(vocab), std::move(merges), false);
  return t;
}

json sentencepiece_tokenizer(const Meta& m) {
  json vocab = json::object();
  for (size_t i = 0; i < m.tokens.size(); ++i) vocab[std::string(m.tokens[i])] = int64_t(i);
  const GgufValue* mv = m.f.find("tokenizer.ggml.merges");
  json merges = mv ? merges_from_file(m, *mv) : merges_from_scores(m);
  json t = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  t["added_tokens"] = added_tokens(m, vocab, false);
  t["normalizer"] = nullptr;
  t["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", false}};
  t["post_processor"] = template_processing(m);
  t["decoder"] = {{"type", "Sequence"},
                  {"decoders",
                   {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                    {{"type", "ByteFallback"}},
                    {{"type", "Fuse"}},
                    {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  t["model"] = bpe_model(std::move(vocab), std::move(merges), true);
  return t;
}

}  // namespace

GgufTokenizer gguf_tokenizer(const GgufFile& f) {
  GgufTokenizer out;
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  if (!tokens) return out;
  Meta m{f, tokens->as_strings(), {}, {}, {}, {}, {}};
  // Everything here ends up in JSON documents, whose strings must be UTF-8.
  for (size_t i = 0; i < m.tokens.size(); ++i)
    if (!code_points(m.tokens[i])) fail("gguf", f.path(), ": tokenizer.ggml.tokens[", i, "] is not valid UTF-8");
  if (const GgufValue* types = f.find("tokenizer.ggml.token_type")) {
    m.types = types->as_ints();
    if (m.types.size() != m.tokens.size())
      fail("gguf", f.path(), ": tokenizer.ggml.token_type has ", m.types.size(), " entries for ", m.tokens.size(),
           " tokens");
  }
  m.bos = token_id(m, "tokenizer.ggml.bos_token_id");
  m.eos = token_id(m, "tokenizer.ggml.eos_token_id");
  m.unk = token_id(m, "tokenizer.ggml.unknown_token_id");
  m.pad = token_id(m, "tokenizer.ggml.padding_token_id");
  std::string_view model = f.find_string("tokenizer.ggml.model").value_or("");
  // llama.cpp adds BOS to sentencepiece vocabularies that do not say otherwise.
  const GgufValue* add_bos = f.find("tokenizer.ggml.add_bos_token");
  const GgufValue* add_eos = f.find("tokenizer.ggml.add_eos_token");
  m.add_bos = add_bos ? add_bos->as_bool() : model == "llama";
  m.add_eos = add_eos && add_eos->as_bool();

  if (model == "gpt2")
    out.tokenizer = gpt2_tokenizer(m, f.find_string("tokenizer.ggml.pre").value_or(""));
  else if (model == "llama")
    out.tokenizer = sentencepiece_tokenizer(m);
  else
    fail("gguf", f.path(), ": tokenizer model '", model, "' is not supported (gpt2 and llama are)");

  json& c = out.tokenizer_config;
  auto token = [&](const std::optional<int64_t>& id) { return id ? json(std::string(m.tokens[size_t(*id)])) : json(); };
  c["bos_token"] = token(m.bos);
  c["eos_token"] = token(m.eos);
  c["unk_token"] = token(m.unk);
  c["pad_token"] = token(m.pad);
  c["add_bos_token"] = m.add_bos;
  c["add_eos_token"] = m.add_eos;
  c["clean_up_tokenization_spaces"] = false;
  c["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (auto tmpl = f.find_string("tokenizer.chat_template")) {
    if (!code_points(*tmpl)) fail("gguf", f.path(), ": tokenizer.chat_template is not valid UTF-8");
    c["chat_template"] = std::string(*tmpl);
  }
  return out;
}

}  // namespace glint::io
