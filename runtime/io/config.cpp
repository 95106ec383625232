#include "runtime/io/config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "runtime/core/error.h"

namespace glint::io {

using nlohmann::json;

nlohmann::json parse_json(std::string_view text, const std::string& name, std::string_view area) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // nlohmann reports a byte offset (1-based, one past the offending byte); users need line and column.
    size_t end = std::min<size_t>(e.byte ? e.byte - 1 : 0, text.size());
    size_t line = 1, col = 1;
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string_view what = e.what();
    if (auto p = what.find(": syntax error"); p != std::string_view::npos)
      what.remove_prefix(p + 2);
    else if (auto q = what.find("] "); q != std::string_view::npos)
      what.remove_prefix(q + 2);
    fail(area, name, ":", line, ":", col, ": ", what);
  } catch (const json::exception& e) {  // e.g. out_of_range for a number like 1e400: no position is reported
    std::string_view what = e.what();
    if (auto q = what.find("] "); q != std::string_view::npos) what.remove_prefix(q + 2);
    fail(area, name, ": ", what);
  }
}

nlohmann::json read_json_file(const std::string& path, std::string_view area) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(area, path, ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(area, path, ": read failed");
  return parse_json(ss.str(), path, area);
}

std::string describe_json(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s + " (" + v.type_name() + ")";
}

JsonFile json_object(nlohmann::json j, std::string where, std::string_view area) {
  if (!j.is_object()) fail(area, where, ": expected a JSON object, found ", describe_json(j));
  return {std::move(where), std::move(j), std::string(area)};
}

JsonFile load_json(const std::string& path, std::string_view area) {
  return json_object(read_json_file(path, area), path, area);
}

bool JsonFile::has(std::string_view key) const {
  auto it = json.find(key);
  return it != json.end() && !it->is_null();
}

namespace {
[[noreturn]] void wrong_type(const JsonFile& f, std::string_view key, const char* want, const json& v) {
  fail(f.area, f.where, ": key '", key, "' should be ", want, ", found ", describe_json(v));
}
}  // namespace

template <>
nlohmann::json JsonFile::convert<nlohmann::json>(const nlohmann::json& v, std::string_view) const {
  return v;
}
template <>
bool JsonFile::convert<bool>(const nlohmann::json& v, std::string_view key) const {
  if (!v.is_boolean()) wrong_type(*this, key, "true or false", v);
  return v.get<bool>();
}
template <>
int64_t JsonFile::convert<int64_t>(const nlohmann::json& v, std::string_view key) const {
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)))
    return v.get<int64_t>();
  // Some configs write integers as floats ("max_position_embeddings": 2048.0); accept exact ones.
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return int64_t(d);
  }
  wrong_type(*this, key, "an integer", v);
}
template <>
int JsonFile::convert<int>(const nlohmann::json& v, std::string_view key) const {
  int64_t x = convert<int64_t>(v, key);
  if (x < INT32_MIN || x > INT32_MAX) wrong_type(*this, key, "a 32-bit integer", v);
  return int(x);
}
template <>
double JsonFile::convert<double>(const nlohmann::json& v, std::string_view key) const {
  if (!v.is_number()) wrong_type(*this, key, "a number", v);
  return v.get<double>();
}
template <>
float JsonFile::convert<float>(const nlohmann::json& v, std::string_view key) const {
  return float(convert<double>(v, key));
}
template <>
std::string JsonFile::convert<std::string>(const nlohmann::json& v, std::string_view key) const {
  if (!v.is_string()) wrong_type(*this, key, "a string", v);
  return v.get<std::string>();
}

namespace {
template <class T>
std::vector<T> convert_list(const JsonFile& f, const json& v, std::string_view key, const char* want) {
  if (!v.is_array()) wrong_type(f, key, want, v);
  std::vector<T> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(f.convert<T>(v[i], std::string(key) + "[" + std::to_string(i) + "]"));
  return out;
}
}  // namespace

template <>
std::vector<int64_t> JsonFile::convert<std::vector<int64_t>>(const nlohmann::json& v, std::string_view key) const {
  return convert_list<int64_t>(*this, v, key, "a list of integers");
}
template <>
std::vector<double> JsonFile::convert<std::vector<double>>(const nlohmann::json& v, std::string_view key) const {
  return convert_list<double>(*this, v, key, "a list of numbers");
}
template <>
std::vector<std::string> JsonFile::convert<std::vector<std::string>>(const nlohmann::json& v,
                                                                     std::string_view key) const {
  return convert_list<std::string>(*this, v, key, "a list of strings");
}

template <class T>
T JsonFile::get(std::string_view key) const {
  auto it = json.find(key);
  if (it == json.end()) fail(area, where, ": key '", key, "' is missing");
  if (it->is_null()) fail(area, where, ": key '", key, "' is null");
  return convert<T>(*it, key);
}

template <class T>
std::optional<T> JsonFile::get_opt(std::string_view key) const {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return std::nullopt;
  return convert<T>(*it, key);
}

JsonFile JsonFile::sub(std::string_view key) const {
  auto v = get<nlohmann::json>(key);
  if (!v.is_object()) wrong_type(*this, key, "an object", v);
  return {where + ": " + std::string(key), std::move(v), area};
}

#define GLINT_JSON_ACCESSORS(T)                        \
  template T JsonFile::get<T>(std::string_view) const; \
  template std::optional<T> JsonFile::get_opt<T>(std::string_view) const;
GLINT_JSON_ACCESSORS(bool)
GLINT_JSON_ACCESSORS(int)
GLINT_JSON_ACCESSORS(int64_t)
GLINT_JSON_ACCESSORS(float)
GLINT_JSON_ACCESSORS(double)
GLINT_JSON_ACCESSORS(std::string)
GLINT_JSON_ACCESSORS(std::vector<int64_t>)
GLINT_JSON_ACCESSORS(std::vector<double>)
GLINT_JSON_ACCESSORS(std::vector<std::string>)
GLINT_JSON_ACCESSORS(nlohmann::json)
#undef GLINT_JSON_ACCESSORS

}  // namespace glint::io
