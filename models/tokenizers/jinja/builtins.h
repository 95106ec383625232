// jinja2's built-in filters and tests, the Python str/dict methods templates call, and the globals transformers
// adds (raise_exception, strftime_now, namespace, dict, range). They report failures as BuiltinError, which
// the interpreter turns into an error naming the template line and column.
#pragma once
#include <stdexcept>
#include <string>

#include "models/tokenizers/jinja/value.h"

namespace glint::jinja {

class BuiltinError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& subject, const CallArgs& args);
bool apply_test(const std::string& name, const Value& subject, const CallArgs& args);

// The bound method `obj.name` (str, dict and list methods), or Undefined when the object has none by that name.
Value get_method(const Value& obj, const std::string& name);
// jinja2's `obj.name`: a method if the object has one by that name, else the item; Undefined when neither.
Value get_attribute(const Value& obj, const std::string& name);
// jinja2's `obj[key]`: the item (negative indexes count from the end); Undefined when absent.
Value get_item(const Value& obj, const Value& key);

// The functions every template sees, as (name, callable) pairs.
std::vector<std::pair<std::string, Value>> global_functions();

// Python's int(), float() and sequence conversions shared by filters and the interpreter.
Value to_list(const Value& v);  // list(v): items of a list, keys of a dict, code points of a str
Value python_slice(const Value& v, const Value& start, const Value& stop, const Value& step);

// Raised for `raise_exception(msg)`; carries the template author's message unchanged.
class TemplateRaised : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace glint::jinja
