#include "trainers/alignment/preference_data.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"

namespace glint::train::alignment {
namespace {

std::vector<int32_t> ids_of(const Encoding& e) { return std::vector<int32_t>(e.ids.begin(), e.ids.end()); }

// Each non-empty line of a JSONL file, parsed, with its line number.
template <class F>
void for_each_row(const std::string& path, F&& f) {
  std::ifstream in(path);
  GLINT_CHECK(in, "alignment", path, ": cannot read");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("alignment", path, ":", n, ": ", e.what());
    }
    f(row, path + ":" + std::to_string(n));
  }
}

std::string text(const nlohmann::json& row, const char* key, const std::string& where) {
  GLINT_CHECK(row.is_object() && row.contains(key) && row[key].is_string(), "alignment", where, ": needs a string '",
              key, "'");
  return row[key].get<std::string>();
}

struct Encoder {
  const Tokenizer& tok;
  int64_t max_length;
  std::vector<int32_t> eos;

  Encoder(const Tokenizer& t, int64_t max_len) : tok(t), max_length(max_len) {
    if (t.config().eos_token)
      if (const auto id = t.token_to_id(*t.config().eos_token)) eos.push_back(int32_t(*id));
  }
  std::vector<int32_t> prompt(const std::string& s) const { return ids_of(tok.encode(s, true)); }
  // The completion plus EOS, cut so prompt + completion fits max_length.
  std::vector<int32_t> completion(const std::string& s, size_t prompt_len, const std::string& where) const {
    std::vector<int32_t> ids = ids_of(tok.encode(s, false));
    ids.insert(ids.end(), eos.begin(), eos.end());
    if (max_length > 0) {
      GLINT_CHECK(int64_t(prompt_len) < max_length, "alignment", where, ": the prompt (", prompt_len,
                  " tokens) leaves no room under max_length ", max_length);
      ids.resize(std::min(ids.size(), size_t(max_length) - prompt_len));
    }
    GLINT_CHECK(!ids.empty(), "alignment", where, ": empty completion");
    return ids;
  }
};

}  // namespace

std::vector<PreferenceRow> read_preference_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_length) {
  const Encoder enc(tok, max_length);
  std::vector<PreferenceRow> rows;
  for_each_row(path, [&](const nlohmann::json& row, const std::string& where) {
    PreferenceRow r;
    r.prompt = enc.prompt(text(row, "prompt", where));
    r.chosen = enc.completion(text(row, "chosen", where), r.prompt.size(), where);
    r.rejected = enc.completion(text(row, "rejected", where), r.prompt.size(), where);
    rows.push_back(std::move(r));
  });
  GLINT_CHECK(!rows.empty(), "alignment", path, ": no rows");
  return rows;
}

std::vector<UnpairedRow> read_unpaired_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_length) {
  const Encoder enc(tok, max_length);
  std::vector<UnpairedRow> rows;
  for_each_row(path, [&](const nlohmann::json& row, const std::string& where) {
    UnpairedRow r;
    r.prompt = enc.prompt(text(row, "prompt", where));
    r.completion = enc.completion(text(row, "completion", where), r.prompt.size(), where);
    GLINT_CHECK(row.contains("label") && row["label"].is_boolean(), "alignment", where, ": needs a boolean 'label'");
    r.desirable = row["label"].get<bool>();
    rows.push_back(std::move(r));
  });
  GLINT_CHECK(!rows.empty(), "alignment", path, ": no rows");
  return rows;
}

Batch collate_completions(const std::vector<const std::vector<int32_t>*>& prompts,
                          const std::vector<const std::vector<int32_t>*>& completions, int64_t pad_id) {
  GLINT_CHECK(!prompts.empty() && prompts.size() == completions.size(), "alignment", "collate needs as many prompts (",
              prompts.size(), ") as completions (", completions.size(), "), at least one");
  size_t t = 2;  // the causal shift needs two positions
  for (size_t i = 0; i < prompts.size(); ++i) t = std::max(t, prompts[i]->size() + completions[i]->size());
  const int64_t b = int64_t(prompts.size());
  std::vector<int64_t> ids(size_t(b) * t, pad_id), labels(size_t(b) * t, -100), mask(size_t(b) * t, 0);
  Batch out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    size_t j = i * t;
    for (int32_t id : *prompts[i]) ids[j] = id, mask[j++] = 1;
    for (int32_t id : *completions[i]) ids[j] = id, labels[j] = id, mask[j++] = 1;
    out.tokens += int64_t(prompts[i]->size() + completions[i]->size());
    out.targets += int64_t(completions[i]->size());
  }
  const Shape shape = {b, int64_t(t)};
  out.input_ids = Tensor::from_vector(ids, shape, DType::i64, Device::cpu());
  out.labels = Tensor::from_vector(labels, shape, DType::i64, Device::cpu());
  out.attention_mask = Tensor::from_vector(mask, shape, DType::i64, Device::cpu());
  return out;
}

Batch collate_pairs(const std::vector<const PreferenceRow*>& rows, int64_t pad_id) {
  std::vector<const std::vector<int32_t>*> prompts, completions;
  for (const PreferenceRow* r : rows) prompts.push_back(&r->prompt), completions.push_back(&r->chosen);
  for (const PreferenceRow* r : rows) prompts.push_back(&r->prompt), completions.push_back(&r->rejected);
  return collate_completions(prompts, completions, pad_id);
}

}  // namespace glint::train::alignment
