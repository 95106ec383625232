// Builds the syntax tree from tokens, following jinja2's grammar and operator precedence. Syntax outside the
// supported subset (extends, include, import, raw, recursive loops, ...) is an error naming line and column.
#pragma once
#include <string>
#include <vector>

#include "models/tokenizers/jinja/ast.h"
#include "models/tokenizers/jinja/lexer.h"

namespace glint::jinja {

Body parse(const std::vector<Token>& tokens, const std::string& name);

}  // namespace glint::jinja
