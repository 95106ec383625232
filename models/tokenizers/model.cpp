// Model selection from tokenizer.json's "model" object.
#include "models/tokenizers/model.h"

#include <algorithm>

namespace glint::tok {

std::vector<std::string> invert_vocab(const Vocab& vocab, const std::string& where) {
  uint64_t max_id = 0;
  for (const auto& [token, id] : vocab) max_id = std::max<uint64_t>(max_id, id);
  // Gaps are allowed (HF keeps a map), but not ids so far out that the table would be absurdly large.
  if (!vocab.empty() && max_id >= 16 * vocab.size() + 4096)
    fail("tokenizer", where, ": vocabulary id ", max_id, " is far beyond the vocabulary size ", vocab.size());
  std::vector<std::string> r(vocab.empty() ? 0 : max_id + 1);
  for (const auto& [token, id] : vocab) r[id] = token;
  return r;
}

namespace {

Vocab vocab_from_json(const JsonAt& v) {
  if (!v.value.is_object()) v.error("expected an object token -> id");
  Vocab vocab;
  vocab.reserve(v.value.size());
  for (const auto& [token, id] : v.value.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > UINT32_MAX)
      v.error("id of '" + token + "' is not an id");
    vocab.emplace(token, id.get<uint32_t>());
  }
  return vocab;
}

std::vector<std::pair<std::string, std::string>> merges_from_json(const JsonAt& m) {
  if (!m.value.is_array()) m.error("expected an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(m.value.size());
  for (size_t i = 0; i < m.value.size(); ++i) {
    const json& e = m.value[i];
    if (e.is_string()) {  // "a b"
      const std::string& s = e.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos) m.at(i).error("merge '" + s + "' is not two tokens separated by a space");
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {  // ["a", "b"]
      merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
      m.at(i).error("expected a merge \"a b\" or [\"a\", \"b\"]");
    }
  }
  return merges;
}

}  // namespace

std::shared_ptr<const Model> model_from_json(const JsonAt& j) {
  // tokenizers < 0.14 wrote no "type" for BPE models.
  std::string t = j.has("type") ? j.type("model", {"BPE", "WordPiece", "Unigram"}) : "BPE";
  if (t == "BPE") {
    BpeOptions o;
    if (j.has("unk_token")) o.unk_token = j.str("unk_token");
    o.continuing_subword_prefix = j.str("continuing_subword_prefix", "");
    o.end_of_word_suffix = j.str("end_of_word_suffix", "");
    o.fuse_unk = j.boolean("fuse_unk", false);
    o.byte_fallback = j.boolean("byte_fallback", false);
    o.ignore_merges = j.boolean("ignore_merges", false);
    return make_bpe(vocab_from_json(j.at("vocab")), merges_from_json(j.at("merges")), o, j.file);
  }
  if (t == "WordPiece")
    return make_wordpiece(vocab_from_json(j.at("vocab")), j.str("unk_token", "[UNK]"),
                          j.str("continuing_subword_prefix", "##"), size_t(j.integer("max_input_chars_per_word", 100)),
                          j.file);
  JsonAt v = j.at("vocab");
  if (!v.value.is_array()) v.error("expected an array of [piece, score]");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(v.value.size());
  for (size_t i = 0; i < v.value.size(); ++i) {
    const json& e = v.value[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      v.at(i).error("expected [piece, score]");
    pieces.emplace_back(e[0].get<std::string>(), e[1].get<double>());
  }
  std::optional<uint32_t> unk;
  if (j.has("unk_id")) {
    int64_t u = j.integer("unk_id");
    if (u < 0 || size_t(u) >= pieces.size()) j.at("unk_id").error("unk_id is outside the vocabulary");
    unk = uint32_t(u);
  }
  return make_unigram(std::move(pieces), unk, j.boolean("byte_fallback", false), j.file);
}

}  // namespace glint::tok
