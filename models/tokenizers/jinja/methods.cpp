// Attribute and item access with jinja2's lookup order, the Python methods templates call on str, dict and
// list values, and the global functions transformers provides to chat templates.
#include <algorithm>
#include <ctime>

#include "models/tokenizers/jinja/builtins.h"
#include "models/tokenizers/jinja/text.h"

namespace glint::jinja {
namespace {

constexpr int64_t kMaxRange = 1000000;  // bounds range() so a hostile template cannot exhaust memory

[[noreturn]] void type_error(const std::string& what) { throw BuiltinError(what); }

const std::string& str_arg(const CallArgs& a, size_t i, const char* method) {
  const Value* v = a.get(i, nullptr);
  if (!v || !v->is_string()) type_error(std::string(method) + "() argument must be a string");
  return v->as_string();
}

const std::string* optional_str(const CallArgs& a, size_t i, const char* name) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return nullptr;
  if (!v->is_string()) type_error(std::string(name) + " must be a string or None");
  return &v->as_string();
}

int64_t optional_int(const CallArgs& a, size_t i, const char* name, int64_t fallback) {
  const Value* v = a.get(i, name);
  if (!v) return fallback;
  if (!v->is_number() || v->is_float()) type_error(std::string(name) + " must be an integer");
  return v->as_int();
}

Value strings(const std::vector<std::string>& parts) {
  std::vector<Value> out;
  for (const auto& p : parts) out.emplace_back(p);
  return Value::list(std::move(out));
}

// startswith / endswith accept a str or a tuple of str.
bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) type_error("startswith/endswith first arg must be str or a tuple of str");
    const std::string& x = a.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) return std::any_of(affix.items().begin(), affix.items().end(), one);
  return one(affix);
}

// str.format with {}, {0} and {name} fields; format specs are outside the subset.
std::string format(const std::string& fmt, const CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t close = fmt.find('}', i);
      if (close == std::string::npos) type_error("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!") != std::string::npos) type_error("format(): format specs are not supported");
      const Value* v = nullptr;
      if (field.empty())
        v = a.get(auto_index++, nullptr);
      else if (std::all_of(field.begin(), field.end(), ::isdigit))
        v = a.get(std::stoul(field), nullptr);
      else
        v = a.get(static_cast<size_t>(-1), field.c_str());
      if (!v) type_error("format(): no argument for field {" + field + "}");
      out += v->str();
      i = close;
    } else if (c == '}') {
      type_error("Single '}' encountered in format string");
    } else {
      out += c;
    }
  }
  return out;
}

Value string_method(const std::string& s, const std::string& name) {
  auto bind = [&](auto fn) { return Value::callable(name, [s, fn](const CallArgs& a) { return Value(fn(s, a)); }); };
  if (name == "startswith")
    return bind([](const std::string& s, const CallArgs& a) {
      return affix_match(s, a.positional.empty() ? Value() : a.positional[0], true);
    });
  if (name == "endswith")
    return bind([](const std::string& s, const CallArgs& a) {
      return affix_match(s, a.positional.empty() ? Value() : a.positional[0], false);
    });
  if (name == "strip")
    return bind([](const std::string& s, const CallArgs& a) {
      return text::strip(s, optional_str(a, 0, "chars"), true, true);
    });
  if (name == "lstrip")
    return bind([](const std::string& s, const CallArgs& a) {
      return text::strip(s, optional_str(a, 0, "chars"), true, false);
    });
  if (name == "rstrip")
    return bind([](const std::string& s, const CallArgs& a) {
      return text::strip(s, optional_str(a, 0, "chars"), false, true);
    });
  if (name == "upper") return bind([](const std::string& s, const CallArgs&) { return text::upper(s); });
  if (name == "lower") return bind([](const std::string& s, const CallArgs&) { return text::lower(s); });
  if (name == "title") return bind([](const std::string& s, const CallArgs&) { return text::title_method(s); });
  if (name == "capitalize") return bind([](const std::string& s, const CallArgs&) { return text::capitalize(s); });
  if (name == "format") return bind([](const std::string& s, const CallArgs& a) { return format(s, a); });
  if (name == "isspace")
    return bind([](const std::string& s, const CallArgs&) {
      return !s.empty() && text::strip(s, nullptr, true, true).empty();
    });
  if (name == "isdigit")
    return bind(
        [](const std::string& s, const CallArgs&) { return !s.empty() && std::all_of(s.begin(), s.end(), ::isdigit); });
  if (name == "replace")
    return bind([](const std::string& s, const CallArgs& a) {
      return text::replace(s, str_arg(a, 0, "replace"), str_arg(a, 1, "replace"), optional_int(a, 2, "count", -1));
    });
  if (name == "split" || name == "rsplit") {
    bool right = name == "rsplit";
    return Value::callable(name, [s, right](const CallArgs& a) {
      const std::string* sep = optional_str(a, 0, "sep");
      if (sep && sep->empty()) type_error("empty separator");
      int64_t maxsplit = optional_int(a, 1, "maxsplit", -1);
      return strings(right ? text::rsplit(s, sep, maxsplit) : text::split(s, sep, maxsplit));
    });
  }
  if (name == "find" || name == "rfind" || name == "count") {
    return Value::callable(name, [s, name](const CallArgs& a) {
      const std::string& needle = str_arg(a, 0, name.c_str());
      if (name == "count") {
        if (needle.empty()) return Value(static_cast<int64_t>(text::length(s) + 1));
        int64_t n = 0;
        for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
        return Value(n);
      }
      size_t p = name == "find" ? s.find(needle) : s.rfind(needle);
      return Value(p == std::string::npos ? int64_t{-1} : static_cast<int64_t>(text::length(s.substr(0, p))));
    });
  }
  if (name == "join") {
    return Value::callable(name, [s](const CallArgs& a) {
      std::string out;
      bool first = true;
      const Value seq =
          to_list(a.positional.empty() ? Value() : a.positional[0]);  // keep the list alive while iterating
      for (const Value& e : seq.items()) {
        if (!e.is_string()) type_error("sequence item: expected str instance, " + e.type_name() + " found");
        if (!first) out += s;
        first = false;
        out += e.as_string();
      }
      return Value(out);
    });
  }
  return Value::undefined(name);
}

Value dict_method(const Value& d, const std::string& name) {
  if (name == "get")
    return Value::callable(name, [d](const CallArgs& a) {
      const Value* key = a.get(0, nullptr);
      const Value* fallback = a.get(1, nullptr);
      const Value* hit = key && key->is_string() ? d.dict_data().find(key->as_string()) : nullptr;
      return hit ? *hit : fallback ? *fallback : Value::none();
    });
  if (name == "items" || name == "keys" || name == "values")
    return Value::callable(name, [d, name](const CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : d.dict_data().items) {
        if (name == "items")
          out.push_back(Value::list({Value(k), v}, true));
        else
          out.push_back(name == "keys" ? Value(k) : v);
      }
      return Value::list(std::move(out));
    });
  return Value::undefined(name);
}

Value list_method(const Value& l, const std::string& name) {
  if (name == "index" || name == "count")
    return Value::callable(name, [l, name](const CallArgs& a) {
      const Value* x = a.get(0, nullptr);
      if (!x) type_error(name + "() takes exactly one argument");
      int64_t count = 0;
      for (size_t i = 0; i < l.items().size(); ++i) {
        if (!l.items()[i].equals(*x)) continue;
        if (name == "index") return Value(static_cast<int64_t>(i));
        ++count;
      }
      if (name == "index") type_error(x->repr() + " is not in list");
      return Value(count);
    });
  return Value::undefined(name);
}

int64_t normalise_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

Value get_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) return string_method(obj.as_string(), name);
  if (obj.is_dict()) return dict_method(obj, name);
  if (obj.is_list()) return list_method(obj, name);
  return Value::undefined(name);
}

Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) type_error("'" + obj.as_string() + "' is undefined");
  Value method = get_method(obj, name);
  if (!method.is_undefined()) return method;
  if (obj.is_mapping()) {
    const Value* hit = obj.dict_data().find(name);
    if (hit) return *hit;
  }
  return Value::undefined(name);
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) type_error("'" + obj.as_string() + "' is undefined");
  if (obj.is_dict() && key.is_string()) {
    const Value* hit = obj.dict_data().find(key.as_string());
    if (hit) return *hit;
    return get_method(obj, key.as_string()).is_undefined() ? Value::undefined(key.as_string())
                                                           : get_method(obj, key.as_string());
  }
  if ((obj.is_list() || obj.is_string()) && key.is_number() && !key.is_float()) {
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.items().size());
      int64_t i = normalise_index(key.as_int(), n);
      return i >= 0 && i < n ? obj.items()[static_cast<size_t>(i)] : Value::undefined("index " + key.repr());
    }
    std::u32string cps = text::decode(obj.as_string());
    int64_t n = static_cast<int64_t>(cps.size());
    int64_t i = normalise_index(key.as_int(), n);
    return i >= 0 && i < n ? Value(text::encode(cps.substr(static_cast<size_t>(i), 1)))
                           : Value::undefined("index " + key.repr());
  }
  if (key.is_string()) return get_attribute(obj, key.as_string());
  return Value::undefined(key.repr());
}

Value to_list(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return Value::list();
    case Value::Kind::List:
      return v.is_tuple() ? Value::list(v.items()) : v;
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& [k, e] : v.dict_data().items) keys.emplace_back(k);
      return Value::list(std::move(keys));
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      for (char32_t c : text::decode(v.as_string())) chars.emplace_back(text::encode(std::u32string(1, c)));
      return Value::list(std::move(chars));
    }
    default:
      type_error("'" + v.type_name() + "' object is not iterable");
  }
}

Value python_slice(const Value& v, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto as_index = [](const Value& x, const char* what) -> std::optional<int64_t> {
    if (x.is_undefined() || x.is_none()) return std::nullopt;
    if (!x.is_number() || x.is_float()) type_error(std::string("slice ") + what + " must be an integer or None");
    return x.as_int();
  };
  int64_t step = as_index(step_v, "step").value_or(1);
  if (step == 0) type_error("slice step cannot be zero");
  std::u32string cps;
  size_t n_items = 0;
  if (v.is_string()) {
    cps = text::decode(v.as_string());
    n_items = cps.size();
  } else if (v.is_list()) {
    n_items = v.items().size();
  } else {
    type_error("'" + v.type_name() + "' object is not subscriptable");
  }
  int64_t n = static_cast<int64_t>(n_items);
  // CPython's PySlice_AdjustIndices.
  auto adjust = [&](std::optional<int64_t> x, int64_t fallback) {
    if (!x) return fallback;
    int64_t i = *x;
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  int64_t start = adjust(as_index(start_v, "start"), step < 0 ? n - 1 : 0);
  int64_t stop = adjust(as_index(stop_v, "stop"), step < 0 ? -1 : n);
  std::vector<size_t> picks;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picks.push_back(static_cast<size_t>(i));
  if (v.is_string()) {
    std::u32string out;
    for (size_t i : picks) out += cps[i];
    return Value(text::encode(out));
  }
  std::vector<Value> out;
  for (size_t i : picks) out.push_back(v.items()[i]);
  return Value::list(std::move(out), v.is_tuple());
}

std::vector<std::pair<std::string, Value>> global_functions() {
  std::vector<std::pair<std::string, Value>> g;
  g.emplace_back("range", Value::callable("range", [](const CallArgs& a) {
                   std::vector<int64_t> n;
                   for (const Value& v : a.positional) {
                     if (!v.is_number() || v.is_float()) type_error("range() arguments must be integers");
                     n.push_back(v.as_int());
                   }
                   if (n.empty() || n.size() > 3) type_error("range expected 1 to 3 arguments");
                   int64_t start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1],
                           step = n.size() == 3 ? n[2] : 1;
                   if (step == 0) type_error("range() arg 3 must not be zero");
                   std::vector<Value> out;
                   for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                     if (static_cast<int64_t>(out.size()) >= kMaxRange)
                       type_error("range() is limited to 1000000 items");
                     out.emplace_back(i);
                   }
                   return Value::list(std::move(out));
                 }));
  auto mapping_from_args = [](const CallArgs& a) {
    std::vector<std::pair<std::string, Value>> items;
    if (!a.positional.empty()) {
      if (!a.positional[0].is_mapping()) type_error("expected a mapping as the positional argument");
      items = a.positional[0].dict_data().items;
    }
    DictData d{items};
    for (const auto& [k, v] : a.keyword) d.set(k, v);
    return d.items;
  };
  g.emplace_back(
      "namespace", Value::callable("namespace", [mapping_from_args](const CallArgs& a) {
        auto items = mapping_from_args(a);
        for (const auto& [k, v] : items)
          if (!k.empty() && k[0] == '_')
            type_error("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" + k +
                       "'.");
        return Value::namespace_object(std::move(items));
      }));
  g.emplace_back("dict", Value::callable("dict", [mapping_from_args](const CallArgs& a) {
                   return Value::dict(mapping_from_args(a));
                 }));
  g.emplace_back("raise_exception", Value::callable("raise_exception", [](const CallArgs& a) -> Value {
                   throw TemplateRaised(a.positional.empty() ? std::string() : a.positional[0].str());
                 }));
  g.emplace_back("strftime_now", Value::callable("strftime_now", [](const CallArgs& a) {
                   const Value* fmt = a.get(0, "format");
                   if (!fmt || !fmt->is_string()) type_error("strftime_now() needs a format string");
                   std::time_t now = std::time(nullptr);
                   std::tm local{};
                   localtime_r(&now, &local);
                   std::string buf(64 + fmt->as_string().size() * 8, '\0');
                   size_t n = std::strftime(buf.data(), buf.size(), fmt->as_string().c_str(), &local);
                   buf.resize(n);
                   return Value(buf);
                 }));
  return g;
}

}  // namespace glint::jinja
