// Template errors carry the template's name and the line and column where the problem is.
#pragma once
#include <string>

#include "runtime/core/error.h"

namespace glint::jinja {

struct SourceLocation {
  int line = 1;
  int column = 1;
};

// Throws glint::Error("[<name>] line L, column C: <what>").
template <class... Args>
[[noreturn]] void template_error(const std::string& name, SourceLocation at, const Args&... what) {
  fail(name, "line ", at.line, ", column ", at.column, ": ", what...);
}

}  // namespace glint::jinja
