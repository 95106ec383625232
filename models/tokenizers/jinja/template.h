// A compiled Jinja template (the subset chat templates use) rendered the way transformers renders chat
// templates: jinja2 with trim_blocks, lstrip_blocks, loop controls and its tojson/raise_exception/strftime_now.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/tokenizers/jinja/value.h"

namespace glint::jinja {

struct Stmt;

class Template {
 public:
  // Parses `source`; errors (and later render errors) read "[<name>] line L, column C: ...".
  explicit Template(const std::string& source, std::string name = "chat_template");

  // Renders with the given top-level variables (later entries win over earlier ones with the same name).
  std::string render(const std::vector<std::pair<std::string, Value>>& variables) const;

 private:
  std::string name_;
  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

}  // namespace glint::jinja
