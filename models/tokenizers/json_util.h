// Reading tokenizer.json pieces with errors that name the file and the JSON path of the problem.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/tokenizers/regex.h"
#include "runtime/core/error.h"

namespace glint::tok {

using nlohmann::json;

// Where a JSON value came from: the file (or "<json>") and the path inside it, e.g. "pre_tokenizer.pretokenizers[1]".
struct JsonAt {
  const json& value;
  std::string file;
  std::string path;

  JsonAt at(std::string_view key) const;  // a required member
  JsonAt at(size_t index) const;          // a required array element
  bool has(std::string_view key) const;   // present and not null
  std::string str(std::string_view key) const;
  std::string str(std::string_view key, std::string_view fallback) const;
  bool boolean(std::string_view key, bool fallback) const;
  int64_t integer(std::string_view key) const;
  int64_t integer(std::string_view key, int64_t fallback) const;
  double number(std::string_view key) const;
  // The "type" member, checked against the known names (listed in the error when unknown).
  std::string type(std::string_view kind, const std::vector<std::string>& known) const;
  [[noreturn]] void error(const std::string& what) const;
};

// A {"String": s} or {"Regex": r} pattern.
Regex pattern_from_json(const JsonAt& j);

}  // namespace glint::tok
