// The values a template computes with: Python's None/bool/int/float/str/list/tuple/dict (insertion-ordered),
// jinja2's Undefined, namespace objects and callables. Lists and dicts are shared by reference like Python's.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace glint::jinja {

class Value;

struct ListData {
  std::vector<Value> items;
  bool tuple = false;  // prints as (a, b)
};

struct DictData {
  std::vector<std::pair<std::string, Value>> items;  // insertion order, like a Python dict
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
};

// Arguments of a call: positional, then keyword, as written.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument at `index` or named `name`; nullptr when absent.
  const Value* get(size_t index, const char* name) const;
};

using Function = std::function<Value(const CallArgs&)>;

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

  Value() = default;  // Undefined
  static Value undefined(std::string name = {});
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double d);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  static Value dict(std::vector<std::pair<std::string, Value>> items = {});
  static Value namespace_object(std::vector<std::pair<std::string, Value>> items = {});
  static Value callable(std::string name, Function fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_mapping() const { return kind_ == Kind::Dict || kind_ == Kind::Namespace; }
  bool is_callable() const { return kind_ == Kind::Callable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }
  double as_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(as_int()); }
  const std::string& as_string() const { return s_; }  // also the name of an Undefined
  const std::vector<Value>& items() const { return list_->items; }
  bool is_tuple() const { return list_->tuple; }
  const DictData& dict_data() const { return *dict_; }
  DictData& mutable_dict_data() const { return *dict_; }  // namespaces are the one mutable object
  const std::string& callable_name() const { return s_; }
  Value call(const CallArgs& args) const { return (*fn_)(args); }

  bool truthy() const;
  std::string type_name() const;  // Python's type name, for error messages
  std::string str() const;        // Python str()
  std::string repr() const;       // Python repr()
  // json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=False); indent < 0 means None.
  std::string to_json(int indent = -1, const std::string& indent_str = {}) const;
  nlohmann::ordered_json to_ordered_json() const;

  // Python ==, with 1 == 1.0 == True and deep list/dict comparison.
  bool equals(const Value& other) const;
  // Python <; nullopt when the types cannot be ordered.
  std::optional<bool> less(const Value& other) const;

 private:
  Kind kind_ = Kind::Undefined;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::shared_ptr<ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<Function> fn_;
};

// Python float repr(): shortest round-trip digits, exponent form outside [1e-4, 1e16).
std::string python_float_repr(double d);

}  // namespace glint::jinja
