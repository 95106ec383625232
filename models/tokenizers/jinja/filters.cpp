// jinja2's built-in filters and tests, with the behaviour of jinja2 3.1 and transformers' own tojson.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "models/tokenizers/jinja/builtins.h"
#include "models/tokenizers/jinja/text.h"

namespace glint::jinja {
namespace {

using FilterFn = Value (*)(const Value&, const CallArgs&);
using TestFn = bool (*)(const Value&, const CallArgs&);

[[noreturn]] void type_error(const std::string& what) { throw BuiltinError(what); }

int64_t int_arg(const CallArgs& a, size_t i, const char* name, int64_t fallback) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return fallback;
  if (!v->is_number() || v->is_float()) type_error(std::string("argument '") + name + "' must be an integer");
  return v->as_int();
}

bool bool_arg(const CallArgs& a, size_t i, const char* name, bool fallback) {
  const Value* v = a.get(i, name);
  return v ? v->truthy() : fallback;
}

const std::string* string_arg(const CallArgs& a, size_t i, const char* name) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return nullptr;
  if (!v->is_string()) type_error(std::string("argument '") + name + "' must be a string");
  return &v->as_string();
}

// jinja2 make_attrgetter: "a.b.0" looks each dotted part up as an item, digit parts as indexes.
Value attribute_path(const Value& v, const std::string& path) {
  Value cur = v;
  static const std::string dot = ".";
  for (const std::string& part : text::split(path, &dot, -1)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = digits ? get_item(cur, Value(static_cast<int64_t>(std::stoll(part)))) : get_attribute(cur, part);
  }
  return cur;
}

size_t python_len(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return 0;
    case Value::Kind::String:
      return text::length(v.as_string());
    case Value::Kind::List:
      return v.items().size();
    case Value::Kind::Dict:
    case Value::Kind::Namespace:
      return v.dict_data().items.size();
    default:
      type_error("object of type '" + v.type_name() + "' has no len()");
  }
}

// Sort/unique key: strings compare case-insensitively unless asked otherwise, as jinja2's ignore_case does.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(text::lower(v.as_string())) : v;
}

bool value_less(const Value& a, const Value& b) {
  auto r = a.less(b);
  if (!r) type_error("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
  return *r;
}

Value f_abs(const Value& v, const CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_number()) return Value(static_cast<int64_t>(std::llabs(v.as_int())));
  type_error("bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_attr(const Value& v, const CallArgs& a) {
  const std::string* name = string_arg(a, 0, "name");
  return name ? get_attribute(v, *name) : Value();
}

Value f_capitalize(const Value& v, const CallArgs&) { return Value(text::capitalize(v.str())); }

Value f_default(const Value& v, const CallArgs& a) {
  static const Value empty(std::string{});
  const Value* fallback = a.get(0, "default_value");
  bool boolean = bool_arg(a, 1, "boolean", false);
  if (v.is_undefined() || (boolean && !v.truthy())) return fallback ? *fallback : empty;
  return v;
}

Value f_dictsort(const Value& v, const CallArgs& a) {
  if (!v.is_mapping()) type_error("dictsort filter needs a mapping, got " + v.type_name());
  bool case_sensitive = bool_arg(a, 0, "case_sensitive", false);
  const std::string* by = string_arg(a, 1, "by");
  bool reverse = bool_arg(a, 2, "reverse", false);
  int pos = by && *by == "value" ? 1 : 0;
  if (by && *by != "key" && *by != "value") type_error("You can only sort by either 'key' or 'value'");
  std::vector<Value> pairs;
  for (const auto& [k, e] : v.dict_data().items) pairs.push_back(Value::list({Value(k), e}, true));
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    return value_less(sort_key(x.items()[pos], case_sensitive), sort_key(y.items()[pos], case_sensitive));
  });
  if (reverse) std::reverse(pairs.begin(), pairs.end());
  return Value::list(std::move(pairs));
}

Value f_escape(const Value& v, const CallArgs&) {
  std::string out;
  for (char c : v.str()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value(out);
}

Value f_first(const Value& v, const CallArgs&) {
  Value xs = to_list(v);
  return xs.items().empty() ? Value::undefined("first item") : xs.items().front();
}

Value f_last(const Value& v, const CallArgs&) {
  Value xs = to_list(v);
  return xs.items().empty() ? Value::undefined("last item") : xs.items().back();
}

bool parse_python_int(std::string s, int64_t* out) {
  s = text::strip(s, nullptr, true, true);
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_' && i > 0 && i + 1 < s.size()) continue;
    digits += c;
  }
  if (digits.empty()) return false;
  size_t start = digits[0] == '+' || digits[0] == '-' ? 1 : 0;
  if (start == digits.size() || !std::all_of(digits.begin() + static_cast<long>(start), digits.end(), ::isdigit))
    return false;
  errno = 0;
  long long v = std::strtoll(digits.c_str(), nullptr, 10);
  if (errno == ERANGE) return false;
  *out = v;
  return true;
}

bool parse_python_float(const std::string& raw, double* out) {
  std::string s = text::strip(raw, nullptr, true, true);
  if (s.empty()) return false;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  *out = d;
  return true;
}

Value f_float(const Value& v, const CallArgs& a) {
  static const Value zero(0.0);
  const Value* fallback = a.get(0, "default");
  double d = 0;
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string() && parse_python_float(v.as_string(), &d)) return Value(d);
  return fallback ? *fallback : zero;
}

Value f_int(const Value& v, const CallArgs& a) {
  static const Value zero(static_cast<int64_t>(0));
  const Value* fallback = a.get(0, "default");
  if (v.is_float()) {
    double d = v.as_double();
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
  } else if (v.is_number()) {
    return Value(v.as_int());
  } else if (v.is_string()) {
    int64_t i = 0;
    double d = 0;
    if (parse_python_int(v.as_string(), &i)) return Value(i);
    if (parse_python_float(v.as_string(), &d) && std::isfinite(d) && std::fabs(d) < 9.2e18)
      return Value(static_cast<int64_t>(d));
  }
  return fallback ? *fallback : zero;
}

Value f_indent(const Value& v, const CallArgs& a) {
  const Value* width = a.get(0, "width");
  std::string indention = width && width->is_string()
                              ? width->as_string()
                              : std::string(static_cast<size_t>(int_arg(a, 0, "width", 4)), ' ');
  bool first = bool_arg(a, 1, "first", false);
  bool blank = bool_arg(a, 2, "blank", false);
  std::string s = v.str() + "\n";
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      lines.push_back(line);
      line.clear();
    } else {
      line += s[i];
    }
  }
  if (!line.empty()) lines.push_back(line);
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) rv += "\n";
    if (i && (blank || !lines[i].empty())) rv += indention;
    rv += lines[i];
  }
  return Value(first ? indention + rv : rv);
}

Value f_items(const Value& v, const CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_mapping()) type_error("Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  for (const auto& [k, e] : v.dict_data().items) pairs.push_back(Value::list({Value(k), e}, true));
  return Value::list(std::move(pairs));
}

Value f_join(const Value& v, const CallArgs& a) {
  const std::string* sep = string_arg(a, 0, "d");
  const std::string* attribute = string_arg(a, 1, "attribute");
  std::string out;
  bool first = true;
  const Value seq = to_list(v);  // keep the list alive while iterating
  for (const Value& e : seq.items()) {
    if (!first && sep) out += *sep;
    first = false;
    out += (attribute ? attribute_path(e, *attribute) : e).str();
  }
  return Value(out);
}

Value f_length(const Value& v, const CallArgs&) { return Value(static_cast<int64_t>(python_len(v))); }
Value f_list(const Value& v, const CallArgs&) { return to_list(v); }
Value f_lower(const Value& v, const CallArgs&) { return Value(text::lower(v.str())); }
Value f_upper(const Value& v, const CallArgs&) { return Value(text::upper(v.str())); }
Value f_title(const Value& v, const CallArgs&) { return Value(text::title_filter(v.str())); }
Value f_safe(const Value& v, const CallArgs&) { return v; }
Value f_string(const Value& v, const CallArgs&) { return Value(v.str()); }

// map(attribute=...) or map('filter', args...)
Value f_map(const Value& v, const CallArgs& a) {
  std::vector<Value> out;
  const Value* attribute = a.get(static_cast<size_t>(-1), "attribute");
  if (attribute) {
    const Value* fallback = a.get(static_cast<size_t>(-1), "default");
    const Value seq = to_list(v);  // keep the list alive while iterating
    for (const Value& e : seq.items()) {
      Value r = attribute_path(e, attribute->str());
      out.push_back(r.is_undefined() && fallback ? *fallback : r);
    }
    return Value::list(std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string()) type_error("map filter needs a filter name or attribute=");
  CallArgs rest{{a.positional.begin() + 1, a.positional.end()}, a.keyword};
  const std::string& name = a.positional[0].as_string();
  if (!has_filter(name)) type_error("map: unsupported filter '" + name + "'");
  const Value seq = to_list(v);  // keep the list alive while iterating
  for (const Value& e : seq.items()) out.push_back(apply_filter(name, e, rest));
  return Value::list(std::move(out));
}

// select / reject / selectattr / rejectattr share one body: optional attribute, then a test (default truthiness).
Value select_impl(const Value& v, const CallArgs& a, bool by_attribute, bool keep_when) {
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (a.positional.empty() || !a.positional[0].is_string())
      type_error("selectattr/rejectattr need an attribute name");
    attribute = a.positional[0].as_string();
    next = 1;
  }
  std::string test;
  if (a.positional.size() > next) {
    if (!a.positional[next].is_string()) type_error("the test name must be a string");
    test = a.positional[next].as_string();
    if (!has_test(test)) type_error("unsupported test '" + test + "'");
  }
  CallArgs test_args;
  if (a.positional.size() > next + 1)
    test_args.positional.assign(a.positional.begin() + static_cast<long>(next) + 1, a.positional.end());
  std::vector<Value> out;
  const Value seq = to_list(v);  // keep the list alive while iterating
  for (const Value& e : seq.items()) {
    Value subject = by_attribute ? attribute_path(e, attribute) : e;
    bool passed = test.empty() ? subject.truthy() : apply_test(test, subject, test_args);
    if (passed == keep_when) out.push_back(e);
  }
  return Value::list(std::move(out));
}

Value f_select(const Value& v, const CallArgs& a) { return select_impl(v, a, false, true); }
Value f_reject(const Value& v, const CallArgs& a) { return select_impl(v, a, false, false); }
Value f_selectattr(const Value& v, const CallArgs& a) { return select_impl(v, a, true, true); }
Value f_rejectattr(const Value& v, const CallArgs& a) { return select_impl(v, a, true, false); }

Value f_replace(const Value& v, const CallArgs& a) {
  const std::string* from = string_arg(a, 0, "old");
  const std::string* to = string_arg(a, 1, "new");
  if (!from || !to) type_error("replace filter needs two strings");
  return Value(text::replace(v.str(), *from, *to, int_arg(a, 2, "count", -1)));
}

Value f_reverse(const Value& v, const CallArgs&) {
  if (v.is_string()) {
    std::u32string cps = text::decode(v.as_string());
    std::reverse(cps.begin(), cps.end());
    return Value(text::encode(cps));
  }
  std::vector<Value> xs = to_list(v).items();
  std::reverse(xs.begin(), xs.end());
  return Value::list(std::move(xs));
}

Value f_round(const Value& v, const CallArgs& a) {
  int64_t precision = int_arg(a, 0, "precision", 0);
  const std::string* method = string_arg(a, 1, "method");
  if (!v.is_number()) type_error("round filter needs a number, got " + v.type_name());
  std::string m = method ? *method : "common";
  if (m == "common") {
    if (!v.is_float()) return Value(v.as_int());
    // Python's round(): correctly rounded decimal, ties to even, which printf's %.*f also gives.
    char buf[512];
    if (precision < 0 || precision > 300) type_error("round precision out of range");
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), v.as_double());
    return Value(std::strtod(buf, nullptr));
  }
  if (m != "ceil" && m != "floor") type_error("method must be common, ceil or floor");
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  return Value((m == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_sort(const Value& v, const CallArgs& a) {
  bool reverse = bool_arg(a, 0, "reverse", false);
  bool case_sensitive = bool_arg(a, 1, "case_sensitive", false);
  const std::string* attribute = string_arg(a, 2, "attribute");
  std::vector<Value> xs = to_list(v).items();
  auto key = [&](const Value& e) { return sort_key(attribute ? attribute_path(e, *attribute) : e, case_sensitive); };
  std::stable_sort(xs.begin(), xs.end(), [&](const Value& x, const Value& y) {
    return reverse ? value_less(key(y), key(x)) : value_less(key(x), key(y));
  });
  return Value::list(std::move(xs));
}

Value min_max(const Value& v, const CallArgs& a, bool want_max) {
  bool case_sensitive = bool_arg(a, 0, "case_sensitive", false);
  const std::string* attribute = string_arg(a, 1, "attribute");
  const Value seq = to_list(v);
  const auto& xs = seq.items();
  if (xs.empty()) return Value::undefined("min/max of an empty sequence");
  auto key = [&](const Value& e) { return sort_key(attribute ? attribute_path(e, *attribute) : e, case_sensitive); };
  const Value* best = &xs[0];
  for (const Value& e : xs)
    if (want_max ? value_less(key(*best), key(e)) : value_less(key(e), key(*best))) best = &e;
  return *best;
}

Value f_min(const Value& v, const CallArgs& a) { return min_max(v, a, false); }
Value f_max(const Value& v, const CallArgs& a) { return min_max(v, a, true); }

Value f_sum(const Value& v, const CallArgs& a) {
  const std::string* attribute = string_arg(a, 0, "attribute");
  const Value* start = a.get(1, "start");
  bool is_float = start && start->is_float();
  int64_t isum = start ? start->as_int() : 0;
  double fsum = start ? start->as_double() : 0;
  const Value seq = to_list(v);  // keep the list alive while iterating
  for (const Value& e : seq.items()) {
    Value x = attribute ? attribute_path(e, *attribute) : e;
    if (!x.is_number()) type_error("unsupported operand type(s) for +: 'int' and '" + x.type_name() + "'");
    is_float = is_float || x.is_float();
    isum += x.as_int();
    fsum += x.as_double();
  }
  return is_float ? Value(fsum) : Value(isum);
}

// transformers replaces jinja2's tojson with json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=...).
Value sorted_keys(const Value& v) {
  if (v.is_list()) {
    std::vector<Value> xs;
    for (const Value& e : v.items()) xs.push_back(sorted_keys(e));
    return Value::list(std::move(xs), v.is_tuple());
  }
  if (!v.is_mapping()) return v;
  auto items = v.dict_data().items;
  std::stable_sort(items.begin(), items.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (auto& [k, e] : items) e = sorted_keys(e);
  return Value::dict(std::move(items));
}

Value f_tojson(const Value& v, const CallArgs& a) {
  if (bool_arg(a, 0, "ensure_ascii", false)) type_error("tojson: ensure_ascii=True is not supported");
  const Value* indent = a.get(1, "indent");
  const Value* separators = a.get(2, "separators");
  if (separators && !separators->is_none()) type_error("tojson: the separators argument is not supported");
  Value subject = bool_arg(a, 3, "sort_keys", false) ? sorted_keys(v) : v;
  if (subject.is_undefined()) type_error("Object of type Undefined is not JSON serializable");
  try {
    if (!indent || indent->is_none()) return Value(subject.to_json());
    if (indent->is_string()) return Value(subject.to_json(-1, indent->as_string().empty() ? "" : indent->as_string()));
    if (!indent->is_number() || indent->is_float()) type_error("tojson: indent must be an integer or a string");
    return Value(subject.to_json(static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(indent->as_int(), 64)))));
  } catch (const std::invalid_argument& e) {
    type_error(e.what());
  }
}

Value f_trim(const Value& v, const CallArgs& a) {
  return Value(text::strip(v.str(), string_arg(a, 0, "chars"), true, true));
}

Value f_unique(const Value& v, const CallArgs& a) {
  bool case_sensitive = bool_arg(a, 0, "case_sensitive", false);
  const std::string* attribute = string_arg(a, 1, "attribute");
  std::vector<Value> out, seen;
  const Value seq = to_list(v);  // keep the list alive while iterating
  for (const Value& e : seq.items()) {
    Value key = sort_key(attribute ? attribute_path(e, *attribute) : e, case_sensitive);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return s.equals(key); })) {
      seen.push_back(key);
      out.push_back(e);
    }
  }
  return Value::list(std::move(out));
}

Value f_wordcount(const Value& v, const CallArgs&) {
  return Value(static_cast<int64_t>(text::split(v.str(), nullptr, -1).size()));
}

const std::map<std::string, FilterFn>& filters() {
  static const std::map<std::string, FilterFn> table = {
      {"abs", f_abs},           {"attr", f_attr},       {"capitalize", f_capitalize},
      {"count", f_length},      {"d", f_default},       {"default", f_default},
      {"dictsort", f_dictsort}, {"e", f_escape},        {"escape", f_escape},
      {"first", f_first},       {"float", f_float},     {"indent", f_indent},
      {"int", f_int},           {"items", f_items},     {"join", f_join},
      {"last", f_last},         {"length", f_length},   {"list", f_list},
      {"lower", f_lower},       {"map", f_map},         {"max", f_max},
      {"min", f_min},           {"reject", f_reject},   {"rejectattr", f_rejectattr},
      {"replace", f_replace},   {"reverse", f_reverse}, {"round", f_round},
      {"safe", f_safe},         {"select", f_select},   {"selectattr", f_selectattr},
      {"sort", f_sort},         {"string", f_string},   {"sum", f_sum},
      {"title", f_title},       {"tojson", f_tojson},   {"trim", f_trim},
      {"unique", f_unique},     {"upper", f_upper},     {"wordcount", f_wordcount},
  };
  return table;
}

// ---- tests ----
const Value& test_operand(const CallArgs& a, const char* what) {
  const Value* v = a.get(0, nullptr);
  if (!v) type_error(std::string("test '") + what + "' needs an argument");
  return *v;
}

bool t_defined(const Value& v, const CallArgs&) { return !v.is_undefined(); }
bool t_undefined(const Value& v, const CallArgs&) { return v.is_undefined(); }
bool t_none(const Value& v, const CallArgs&) { return v.is_none(); }
bool t_boolean(const Value& v, const CallArgs&) { return v.is_bool(); }
bool t_true(const Value& v, const CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(const Value& v, const CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_integer(const Value& v, const CallArgs&) { return v.is_int(); }
bool t_float(const Value& v, const CallArgs&) { return v.is_float(); }
bool t_number(const Value& v, const CallArgs&) { return v.is_number(); }  // bool is a Number in Python
bool t_string(const Value& v, const CallArgs&) { return v.is_string(); }
bool t_mapping(const Value& v, const CallArgs&) { return v.is_dict(); }
bool t_callable(const Value& v, const CallArgs&) { return v.is_callable(); }
// Undefined iterates as empty and has len(), so jinja2 calls it iterable and a sequence.
bool t_iterable(const Value& v, const CallArgs&) {
  return v.is_string() || v.is_list() || v.is_mapping() || v.is_undefined();
}
bool t_sequence(const Value& v, const CallArgs&) {
  return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_eq(const Value& v, const CallArgs& a) { return v.equals(test_operand(a, "eq")); }
bool t_ne(const Value& v, const CallArgs& a) { return !v.equals(test_operand(a, "ne")); }
bool t_lt(const Value& v, const CallArgs& a) { return value_less(v, test_operand(a, "lt")); }
bool t_gt(const Value& v, const CallArgs& a) { return value_less(test_operand(a, "gt"), v); }
bool t_le(const Value& v, const CallArgs& a) { return !value_less(test_operand(a, "le"), v); }
bool t_ge(const Value& v, const CallArgs& a) { return !value_less(v, test_operand(a, "ge")); }

bool t_in(const Value& v, const CallArgs& a) {
  const Value& seq = test_operand(a, "in");
  if (seq.is_string()) {
    if (!v.is_string()) type_error("'in <string>' requires string as left operand, not " + v.type_name());
    return seq.as_string().find(v.as_string()) != std::string::npos;
  }
  if (seq.is_mapping()) return v.is_string() && seq.dict_data().find(v.as_string()) != nullptr;
  if (seq.is_list())
    return std::any_of(seq.items().begin(), seq.items().end(), [&](const Value& e) { return e.equals(v); });
  if (seq.is_undefined()) return false;
  type_error("argument of type '" + seq.type_name() + "' is not iterable");
}

bool require_int(const Value& v, const char* test) {
  if (!v.is_number() || v.is_float()) type_error(std::string("test '") + test + "' needs an integer");
  return true;
}
bool t_odd(const Value& v, const CallArgs&) { return require_int(v, "odd") && v.as_int() % 2 != 0; }
bool t_even(const Value& v, const CallArgs&) { return require_int(v, "even") && v.as_int() % 2 == 0; }
bool t_divisibleby(const Value& v, const CallArgs& a) {
  const Value& n = test_operand(a, "divisibleby");
  require_int(v, "divisibleby");
  require_int(n, "divisibleby");
  if (n.as_int() == 0) type_error("integer division or modulo by zero");
  return v.as_int() % n.as_int() == 0;
}
bool t_lower(const Value& v, const CallArgs&) {
  std::string s = v.str();
  return text::lower(s) == s && text::upper(s) != s;
}
bool t_upper(const Value& v, const CallArgs&) {
  std::string s = v.str();
  return text::upper(s) == s && text::lower(s) != s;
}
bool t_sameas(const Value& v, const CallArgs& a) {
  const Value& o = test_operand(a, "sameas");
  if (v.kind() != o.kind()) return false;
  if (v.is_none() || v.is_undefined()) return true;
  if (v.is_bool()) return v.as_bool() == o.as_bool();
  return (v.is_list() || v.is_mapping()) ? &v.items() == &o.items() || v.equals(o) : v.equals(o);
}
bool t_escaped(const Value&, const CallArgs&) { return false; }

const std::map<std::string, TestFn>& tests() {
  static const std::map<std::string, TestFn> table = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"integer", t_integer},
      {"float", t_float},
      {"number", t_number},
      {"string", t_string},
      {"mapping", t_mapping},
      {"callable", t_callable},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"ne", t_ne},
      {"!=", t_ne},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<", t_lt},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">", t_gt},
      {"le", t_le},
      {"<=", t_le},
      {"ge", t_ge},
      {">=", t_ge},
      {"in", t_in},
      {"odd", t_odd},
      {"even", t_even},
      {"divisibleby", t_divisibleby},
      {"lower", t_lower},
      {"upper", t_upper},
      {"sameas", t_sameas},
      {"escaped", t_escaped},
  };
  return table;
}

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) != 0; }
bool has_test(const std::string& name) { return tests().count(name) != 0; }

Value apply_filter(const std::string& name, const Value& subject, const CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) throw BuiltinError("unsupported filter '" + name + "'");
  return it->second(subject, args);
}

bool apply_test(const std::string& name, const Value& subject, const CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) throw BuiltinError("unsupported test '" + name + "'");
  return it->second(subject, args);
}

}  // namespace glint::jinja
