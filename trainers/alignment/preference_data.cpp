#include "trainers/alignment/preference_data.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"

namespace glint::train::alignment {
namespace {

using Json = nlohmann::ordered_json;  // messages keep their key order, which a template's tojson prints

// Each non-empty line of a JSONL file, parsed, with its line number.
template <class F>
void for_each_row(const std::string& path, F&& f) {
  std::ifstream in(path);
  GLINT_CHECK(in, "alignment", path, ": cannot read");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json row;
    try {
      row = Json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("alignment", path, ":", n, ": ", e.what());
    }
    GLINT_CHECK(row.is_object(), "alignment", path, ":", n, ": a row must be a JSON object");
    f(row, path + ":" + std::to_string(n));
  }
}

// TRL's is_conversational: a list whose first element is a message object with a role.
bool is_messages(const Json& v) { return v.is_array() && !v.empty() && v[0].is_object() && v[0].contains("role"); }

// A column: a string, or (conversational rows) a list of {"role", "content", ...} messages.
const Json& column(const Json& row, const char* key, bool conversational, const std::string& where) {
  GLINT_CHECK(row.contains(key), "alignment", where, ": needs '", key, "'");
  const Json& v = row[key];
  if (!conversational) {
    GLINT_CHECK(v.is_string(), "alignment", where, ": '", key, "' must be a string like the other columns");
    return v;
  }
  GLINT_CHECK(is_messages(v), "alignment", where, ": '", key,
              "' must be a list of messages ({\"role\", \"content\"}) like the other columns");
  for (const Json& m : v)
    GLINT_CHECK(m.is_object() && m.contains("role") && m["role"].is_string(), "alignment", where, ": '", key,
                "' has a message without a string 'role'");
  return v;
}

// TRL's extract_prompt for rows without a prompt: the leading messages (or characters) that chosen and rejected
// share are the prompt; for text a space before the first difference goes to the completions. As in TRL, when one
// is a prefix of the other, the last shared element stays in the completions.
template <class Seq, class Space>
size_t shared_prompt_length(const Seq& chosen, const Seq& rejected, Space is_space, const std::string& where) {
  const size_t n = std::min(chosen.size(), rejected.size());
  size_t i = 0;
  while (i + 1 < n && chosen[i] == rejected[i]) ++i;
  if (n > 0 && chosen[i] != rejected[i] && i > 0 && is_space(chosen[i - 1])) --i;
  GLINT_CHECK(i > 0, "alignment", where, ": without a 'prompt', chosen and rejected must start alike (the prompt)");
  return i;
}

void extract_prompt(Json& row, const std::string& where) {
  const Json chosen = row["chosen"], rejected = row["rejected"];
  if (chosen.is_string()) {
    const std::string c = chosen, r = rejected;
    const size_t i = shared_prompt_length(
        c, r, [](char ch) { return ch == ' '; }, where);
    row["prompt"] = c.substr(0, i), row["chosen"] = c.substr(i), row["rejected"] = r.substr(i);
    return;
  }
  const size_t i = shared_prompt_length(
      chosen, rejected, [](const Json&) { return false; }, where);
  const auto at = [i](const Json& v) { return v.begin() + std::ptrdiff_t(i); };
  row["prompt"] = Json(chosen.begin(), at(chosen));
  row["chosen"] = Json(at(chosen), chosen.end());
  row["rejected"] = Json(at(rejected), rejected.end());
}

size_t common_prefix_length(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// Tokenises rows as TRL's DPO and KTO trainers do: the prompt alone and prompt + completion, each whole, through the
// chat template (generation prompt after the prompt alone; the rendered text encoded without special tokens, as
// transformers' apply_chat_template(tokenize=True)) or, for text, with the tokenizer's special tokens and EOS
// appended to the completion. The completion starts where the two token sequences diverge, which is after the
// prompt unless a template renders the prompt alone differently or tokens merge across the boundary.
class Encoder {
 public:
  Encoder(const Tokenizer& tok, int64_t max_length) : tok_(tok), max_length_(max_length) {
    if (tok.config().eos_token) eos_ = *tok.config().eos_token;
  }

  // Reads the row's columns (extracting an implicit prompt) and decides between messages and text.
  void start_row(Json& row, const std::string& where) {
    where_ = where;
    if (!row.contains("prompt") && row.contains("chosen") && row.contains("rejected")) extract_prompt(row, where);
    conversational_ = row.contains("prompt") && is_messages(row["prompt"]);
    extra_ = Json::object();
    if (row.contains("chat_template_kwargs") && row["chat_template_kwargs"].is_object())
      extra_ = row["chat_template_kwargs"];
    if (row.contains("tools") && !row["tools"].is_null()) extra_["tools"] = row["tools"];
    prompt_ = column(row, "prompt", conversational_, where);
    prompt_ids_ = conversational_ ? render({}, true) : encode(prompt_.get<std::string>(), true);
  }

  // prompt + completion, whole.
  std::vector<int32_t> with_completion(const Json& row, const char* key) const {
    const Json& c = column(row, key, conversational_, where_);
    if (conversational_) return render(c, false);
    std::string text = prompt_.get<std::string>() + c.get<std::string>();
    if (!eos_.empty() && !text.ends_with(eos_)) text += eos_;
    return encode(text, true);
  }

  const std::vector<int32_t>& prompt_ids() const { return prompt_ids_; }

  // The completion part of `full` after the first `prompt_len` tokens, cut so the row fits max_length.
  std::vector<int32_t> completion(const std::vector<int32_t>& full, size_t prompt_len) const {
    std::vector<int32_t> ids(full.begin() + std::ptrdiff_t(prompt_len), full.end());
    if (max_length_ > 0) {
      GLINT_CHECK(int64_t(prompt_len) < max_length_, "alignment", where_, ": the prompt (", prompt_len,
                  " tokens) leaves no room under max_length ", max_length_);
      ids.resize(std::min(ids.size(), size_t(max_length_) - prompt_len));
    }
    GLINT_CHECK(!ids.empty(), "alignment", where_, ": empty completion");
    return ids;
  }

 private:
  std::vector<int32_t> encode(const std::string& text, bool special) const {
    const Encoding e = tok_.encode(text, special);
    return std::vector<int32_t>(e.ids.begin(), e.ids.end());
  }
  std::vector<int32_t> render(const Json& completion, bool add_generation_prompt) const {
    Json messages = prompt_;
    for (const Json& m : completion) messages.push_back(m);
    try {
      return encode(tok_.apply_chat_template(messages, add_generation_prompt, extra_), false);
    } catch (const Error& e) {
      fail("alignment", where_, ": rendering the messages with the tokenizer's chat template: ", e.what());
    }
  }

  const Tokenizer& tok_;
  int64_t max_length_;
  std::string eos_, where_;
  bool conversational_ = false;
  Json prompt_, extra_;
  std::vector<int32_t> prompt_ids_;
};

}  // namespace

std::vector<PreferenceRow> read_preference_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_length) {
  Encoder enc(tok, max_length);
  std::vector<PreferenceRow> rows;
  for_each_row(path, [&](Json& row, const std::string& where) {
    enc.start_row(row, where);
    const std::vector<int32_t> chosen = enc.with_completion(row, "chosen"),
                               rejected = enc.with_completion(row, "rejected");
    const std::vector<int32_t>& prompt = enc.prompt_ids();
    const size_t n = std::min(common_prefix_length(prompt, chosen), common_prefix_length(prompt, rejected));
    PreferenceRow r;
    r.prompt.assign(prompt.begin(), prompt.begin() + std::ptrdiff_t(n));
    r.chosen = enc.completion(chosen, n);
    r.rejected = enc.completion(rejected, n);
    rows.push_back(std::move(r));
  });
  GLINT_CHECK(!rows.empty(), "alignment", path, ": no rows");
  return rows;
}

std::vector<UnpairedRow> read_unpaired_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_length) {
  Encoder enc(tok, max_length);
  std::vector<UnpairedRow> rows;
  for_each_row(path, [&](Json& row, const std::string& where) {
    GLINT_CHECK(row.contains("label") && row["label"].is_boolean(), "alignment", where, ": needs a boolean 'label'");
    enc.start_row(row, where);
    const std::vector<int32_t> full = enc.with_completion(row, "completion");
    const std::vector<int32_t>& prompt = enc.prompt_ids();
    const size_t n = common_prefix_length(prompt, full);
    UnpairedRow r;
    r.prompt.assign(prompt.begin(), prompt.begin() + std::ptrdiff_t(n));
    r.completion = enc.completion(full, n);
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
