#include "models/tokenizers/jinja/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "models/tokenizers/jinja/text.h"

namespace glint::jinja {

const Value* DictData::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void DictData::set(const std::string& key, Value v) {
  for (auto& [k, existing] : items)
    if (k == key) {
      existing = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

const Value* CallArgs::get(size_t index, const char* name) const {
  if (index < positional.size()) return &positional[index];
  if (name)
    for (const auto& [k, v] : keyword)
      if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string name) {
  Value v;
  v.s_ = std::move(name);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value::Value(bool b) : kind_(Kind::Bool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::Int), i_(i) {}
Value::Value(double d) : kind_(Kind::Float), d_(d) {}
Value::Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}

Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<ListData>(ListData{std::move(items), tuple});
  return v;
}

Value Value::dict(std::vector<std::pair<std::string, Value>> items) {
  Value v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<DictData>(DictData{std::move(items)});
  return v;
}

Value Value::namespace_object(std::vector<std::pair<std::string, Value>> items) {
  Value v = dict(std::move(items));
  v.kind_ = Kind::Namespace;
  return v;
}

Value Value::callable(std::string name, Function fn) {
  Value v;
  v.kind_ = Kind::Callable;
  v.s_ = std::move(name);
  v.fn_ = std::make_shared<Function>(std::move(fn));
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      // Python ints are unbounded; past int64 the nearest double is the closest we hold.
      return u <= static_cast<uint64_t>(INT64_MAX) ? Value(static_cast<int64_t>(u)) : Value(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      std::vector<std::pair<std::string, Value>> items;
      items.reserve(j.size());
      for (const auto& [k, e] : j.items()) items.emplace_back(k, from_json(e));
      return dict(std::move(items));
    }
    default:
      return none();  // binary / discarded values have no template meaning
  }
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None:
      return false;
    case Kind::Bool:
      return b_;
    case Kind::Int:
      return i_ != 0;
    case Kind::Float:
      return d_ != 0.0;
    case Kind::String:
      return !s_.empty();
    case Kind::List:
      return !list_->items.empty();
    case Kind::Dict:
      return !dict_->items.empty();
    default:
      return true;
  }
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined:
      return "Undefined";
    case Kind::None:
      return "NoneType";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::List:
      return list_->tuple ? "tuple" : "list";
    case Kind::Dict:
      return "dict";
    case Kind::Namespace:
      return "Namespace";
    default:
      return "function";
  }
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exp10 = std::atoi(sci.c_str() + e + 1);
  bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out = negative ? "-" : "";
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exp10 + 1) {
      out += digits + std::string(static_cast<size_t>(exp10 + 1) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exp10 + 1)) + "." + digits.substr(static_cast<size_t>(exp10 + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
  return out + ebuf;
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::Undefined:
      return "";
    case Kind::String:
      return s_;
    default:
      return repr();
  }
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::Undefined:
      return "";
    case Kind::None:
      return "None";
    case Kind::Bool:
      return b_ ? "True" : "False";
    case Kind::Int:
      return std::to_string(i_);
    case Kind::Float:
      return python_float_repr(d_);
    case Kind::String:
      return text::repr(s_);
    case Kind::List: {
      const auto& xs = list_->items;
      std::string out = list_->tuple ? "(" : "[";
      for (size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + xs[i].repr();
      if (list_->tuple && xs.size() == 1) out += ",";
      return out + (list_->tuple ? ")" : "]");
    }
    case Kind::Dict:
    case Kind::Namespace: {
      std::string out = kind_ == Kind::Namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : dict_->items) {
        out += (first ? "" : ", ") + text::repr(k) + ": " + v.repr();
        first = false;
      }
      return out + (kind_ == Kind::Namespace ? "}>" : "}");
    }
    default:
      return "<function " + s_ + ">";
  }
}

namespace {

void append_json(std::string& out, const Value& v, int indent, const std::string& indent_str, int depth) {
  std::string unit = indent_str.empty() ? std::string(static_cast<size_t>(std::max(indent, 0)), ' ') : indent_str;
  bool pretty = indent >= 0 || !indent_str.empty();
  auto newline = [&](int level) {
    out += '\n';
    for (int i = 0; i < level; ++i) out += unit;
  };
  switch (v.kind()) {
    case Value::Kind::None:
      out += "null";
      return;
    case Value::Kind::Bool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::Int:
      out += std::to_string(v.as_int());
      return;
    case Value::Kind::Float: {
      double d = v.as_double();
      if (std::isnan(d))
        out += "NaN";
      else if (std::isinf(d))
        out += d < 0 ? "-Infinity" : "Infinity";
      else
        out += python_float_repr(d);
      return;
    }
    case Value::Kind::String:
      text::append_json_string(out, v.as_string());
      return;
    case Value::Kind::List: {
      const auto& xs = v.items();
      if (xs.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i) out += pretty ? "," : ", ";
        if (pretty) newline(depth + 1);
        append_json(out, xs[i], indent, indent_str, depth + 1);
      }
      if (pretty) newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::Dict:
    case Value::Kind::Namespace: {
      const auto& items = v.dict_data().items;
      if (items.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, e] : items) {
        if (!first) out += pretty ? "," : ", ";
        first = false;
        if (pretty) newline(depth + 1);
        text::append_json_string(out, k);
        out += ": ";
        append_json(out, e, indent, indent_str, depth + 1);
      }
      if (pretty) newline(depth);
      out += '}';
      return;
    }
    default:
      throw std::invalid_argument("Object of type " + v.type_name() + " is not JSON serializable");
  }
}

}  // namespace

std::string Value::to_json(int indent, const std::string& indent_str) const {
  std::string out;
  append_json(out, *this, indent, indent_str, 0);
  return out;
}

nlohmann::ordered_json Value::to_ordered_json() const {
  switch (kind_) {
    case Kind::Bool:
      return b_;
    case Kind::Int:
      return i_;
    case Kind::Float:
      return d_;
    case Kind::String:
      return s_;
    case Kind::List: {
      auto j = nlohmann::ordered_json::array();
      for (const auto& e : list_->items) j.push_back(e.to_ordered_json());
      return j;
    }
    case Kind::Dict:
    case Kind::Namespace: {
      auto j = nlohmann::ordered_json::object();
      for (const auto& [k, e] : dict_->items) j[k] = e.to_ordered_json();
      return j;
    }
    default:
      return nullptr;
  }
}

bool Value::equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (kind_ == Kind::Float || o.kind_ == Kind::Float) return as_double() == o.as_double();
    return as_int() == o.as_int();
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None:
      return true;
    case Kind::String:
      return s_ == o.s_;
    case Kind::List: {
      if (list_->tuple != o.list_->tuple || list_->items.size() != o.list_->items.size()) return false;
      for (size_t i = 0; i < list_->items.size(); ++i)
        if (!list_->items[i].equals(o.list_->items[i])) return false;
      return true;
    }
    case Kind::Dict: {
      if (dict_->items.size() != o.dict_->items.size()) return false;
      for (const auto& [k, v] : dict_->items) {
        const Value* other = o.dict_->find(k);
        if (!other || !v.equals(*other)) return false;
      }
      return true;
    }
    default:
      return dict_ == o.dict_ && fn_ == o.fn_;  // identity, as Python compares these objects
  }
}

std::optional<bool> Value::less(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (kind_ == Kind::Float || o.kind_ == Kind::Float) return as_double() < o.as_double();
    return as_int() < o.as_int();
  }
  if (is_string() && o.is_string()) return s_ < o.s_;  // UTF-8 byte order is code point order
  if (is_list() && o.is_list()) {
    const auto& a = items();
    const auto& b = o.items();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (a[i].equals(b[i])) continue;
      return a[i].less(b[i]);
    }
    return a.size() < b.size();
  }
  return std::nullopt;
}

}  // namespace glint::jinja
