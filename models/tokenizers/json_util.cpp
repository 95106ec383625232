#include "models/tokenizers/json_util.h"

namespace glint::tok {

void JsonAt::error(const std::string& what) const {
  fail("tokenizer", file, ": ", path.empty() ? std::string("top level") : path, ": ", what);
}

JsonAt JsonAt::at(std::string_view key) const {
  std::string p = path.empty() ? std::string(key) : path + "." + std::string(key);
  if (!value.is_object()) error("expected an object");
  auto it = value.find(key);
  if (it == value.end() || it->is_null()) fail("tokenizer", file, ": ", p, " is missing");
  return {*it, file, p};
}

JsonAt JsonAt::at(size_t index) const {
  if (!value.is_array() || index >= value.size()) error("expected an array with element " + std::to_string(index));
  return {value[index], file, path + "[" + std::to_string(index) + "]"};
}

bool JsonAt::has(std::string_view key) const {
  if (!value.is_object()) return false;
  auto it = value.find(key);
  return it != value.end() && !it->is_null();
}

std::string JsonAt::str(std::string_view key) const {
  JsonAt v = at(key);
  if (!v.value.is_string()) v.error("expected a string");
  return v.value.get<std::string>();
}

std::string JsonAt::str(std::string_view key, std::string_view fallback) const {
  return has(key) ? str(key) : std::string(fallback);
}

bool JsonAt::boolean(std::string_view key, bool fallback) const {
  if (!has(key)) return fallback;
  JsonAt v = at(key);
  if (!v.value.is_boolean()) v.error("expected true or false");
  return v.value.get<bool>();
}

int64_t JsonAt::integer(std::string_view key) const {
  JsonAt v = at(key);
  if (!v.value.is_number_integer()) v.error("expected an integer");
  return v.value.get<int64_t>();
}

int64_t JsonAt::integer(std::string_view key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }

double JsonAt::number(std::string_view key) const {
  JsonAt v = at(key);
  if (!v.value.is_number()) v.error("expected a number");
  return v.value.get<double>();
}

std::string JsonAt::type(std::string_view kind, const std::vector<std::string>& known) const {
  std::string t = str("type");
  for (const std::string& k : known)
    if (k == t) return t;
  std::string list;
  for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
  error("unknown " + std::string(kind) + " type '" + t + "' (supported: " + list + ")");
}

Regex pattern_from_json(const JsonAt& j) {
  if (j.has("String")) return Regex(j.str("String"), true, j.file);
  if (j.has("Regex")) return Regex(j.str("Regex"), false, j.file);
  j.error("expected a pattern {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace glint::tok
