// Errors: every failure is a glint::Error whose message starts with "[op] ".
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace glint {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// Throws Error("[op] message") built from the streamed arguments.
template <class... Args>
[[noreturn]] void fail(std::string_view op, const Args&... args) {
  throw Error(detail::concat("[", op, "] ", args...));
}

}  // namespace glint

// GLINT_CHECK(cond, "op", "what", value, ...) throws "[op] what value..." when cond is false.
#define GLINT_CHECK(cond, op, ...)          \
  do {                                      \
    if (!(cond)) ::glint::fail(op, __VA_ARGS__); \
  } while (0)
