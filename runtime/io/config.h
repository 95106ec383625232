// JSON files read with errors a user can act on: parse errors give file:line:column, and typed accessors say which
// key is missing or has the wrong type ("[config] config.json: key 'hidden_size' is missing").
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glint::io {

// Parses `text`; on a syntax error throws "[area] <name>:<line>:<column>: <reason>".
nlohmann::json parse_json(std::string_view text, const std::string& name, std::string_view area = "config");
// Reads and parses a file; also fails when it cannot be read.
nlohmann::json read_json_file(const std::string& path, std::string_view area = "config");

// A JSON object with the name it came from, for messages. `where` is the file, plus the key path for nested
// objects ("config.json: text_config").
struct JsonFile {
  std::string where;
  nlohmann::json json;
  std::string area = "config";

  // Present and not null.
  bool has(std::string_view key) const;
  // The value of `key` as T; throws when it is missing, null or of another type. T: bool, int, int64_t, float,
  // double, std::string, std::vector<int64_t>, std::vector<double>, std::vector<std::string>, nlohmann::json.
  template <class T>
  T get(std::string_view key) const;
  // std::nullopt when missing or null; throws when present with another type.
  template <class T>
  std::optional<T> get_opt(std::string_view key) const;
  template <class T>
  T get_or(std::string_view key, T fallback) const {
    return get_opt<T>(key).value_or(std::move(fallback));
  }
  // A nested object (throws when missing or not an object).
  JsonFile sub(std::string_view key) const;

  // Converts one value found at `key` (used by get / get_opt; public for values found otherwise, e.g. list items).
  template <class T>
  T convert(const nlohmann::json& v, std::string_view key) const;
};

#define GLINT_JSON_CONVERT(T) \
  template <>                 \
  T JsonFile::convert<T>(const nlohmann::json&, std::string_view) const;
GLINT_JSON_CONVERT(bool)
GLINT_JSON_CONVERT(int)
GLINT_JSON_CONVERT(int64_t)
GLINT_JSON_CONVERT(float)
GLINT_JSON_CONVERT(double)
GLINT_JSON_CONVERT(std::string)
GLINT_JSON_CONVERT(std::vector<int64_t>)
GLINT_JSON_CONVERT(std::vector<double>)
GLINT_JSON_CONVERT(std::vector<std::string>)
GLINT_JSON_CONVERT(nlohmann::json)
#undef GLINT_JSON_CONVERT

// Reads `path` and checks it holds a JSON object.
JsonFile load_json(const std::string& path, std::string_view area = "config");
// Wraps parsed JSON (checked to be an object) under a name.
JsonFile json_object(nlohmann::json json, std::string where, std::string_view area = "config");

// A short description of a JSON value for error messages: its type and, if short, the value itself.
std::string describe_json(const nlohmann::json& v);

}  // namespace glint::io
