#include "models/tokenizers/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "models/tokenizers/jinja/text.h"

namespace glint::jinja {
namespace {

// Operators longest first, so "//" wins over "/".
constexpr const char* kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%", "~", "[",
                                      "]",  "(",  ")",  "{",  "}",  "<",  ">", "=", ".", ":", "|", ",", ";"};

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& name, LexOptions options) : name_(name), options_(options) {
    // jinja2 normalises every newline sequence to "\n" and drops one trailing newline.
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t start = find_tag(pos);
      std::string text = src_.substr(pos, start - pos);
      if (start == src_.size()) {
        emit_text(std::move(text), pos);
        break;
      }
      char kind = src_[start + 1];
      size_t after = start + 2;
      char modifier = after < src_.size() && (src_[after] == '-' || src_[after] == '+') ? src_[after] : 0;
      if (modifier) ++after;
      if (modifier == '-') {
        text = text::strip(text, nullptr, false, true);
      } else if (modifier != '+' && options_.lstrip_blocks && kind != '{') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && text::strip(text.substr(l_pos), nullptr, true, true).empty())
          text.resize(l_pos);
      }
      emit_text(std::move(text), pos);
      if (kind == '#') {
        pos = skip_comment(start, after);
      } else {
        push(kind == '{' ? TokenType::VarBegin : TokenType::BlockBegin, "", start);
        pos = lex_tag(after, kind == '{');
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    push(TokenType::End, "", src_.size());
    return std::move(out_);
  }

 private:
  SourceLocation where(size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    size_t line_start = *(it - 1);
    int column = 1 + static_cast<int>(text::length(std::string_view(src_).substr(line_start, offset - line_start)));
    return {static_cast<int>(it - line_starts_.begin()), column};
  }

  template <class... Args>
  [[noreturn]] void error(size_t offset, const Args&... what) {
    template_error(name_, where(offset), what...);
  }

  void push(TokenType type, std::string value, size_t offset) {
    out_.push_back(Token{type, std::move(value), where(offset)});
  }

  void emit_text(std::string text, size_t offset) {
    if (!text.empty()) push(TokenType::Text, std::move(text), offset);
  }

  size_t find_tag(size_t pos) const {
    while (true) {
      size_t p = src_.find('{', pos);
      if (p == std::string::npos || p + 1 >= src_.size()) return src_.size();
      char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      pos = p + 1;
    }
  }

  // Python's \s*: skips ASCII and Unicode whitespace.
  size_t skip_space(size_t pos) const {
    while (pos < src_.size()) {
      unsigned char c = static_cast<unsigned char>(src_[pos]);
      if (c < 0x80) {
        if (!text::is_space(c)) break;
        ++pos;
        continue;
      }
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      std::u32string cp = text::decode(std::string_view(src_).substr(pos, len));
      if (cp.size() != 1 || !text::is_space(cp[0])) break;
      pos += len;
    }
    return pos;
  }

  // The text after a block or comment end: '-' eats all whitespace, '+' nothing, plain one newline (trim_blocks).
  size_t after_block_end(size_t end, char modifier) const {
    if (modifier == '-') return skip_space(end);
    if (modifier != '+' && options_.trim_blocks && end < src_.size() && src_[end] == '\n') return end + 1;
    return end;
  }

  size_t skip_comment(size_t start, size_t body) {
    size_t close = src_.find("#}", body);
    if (close == std::string::npos) error(start, "unclosed comment: '{#' has no matching '#}'");
    char modifier = close > body && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    return after_block_end(close + 2, modifier);
  }

  size_t lex_tag(size_t pos, bool variable) {
    int depth = 0;
    const char* close = variable ? "}}" : "%}";
    while (true) {
      pos = skip_space(pos);
      if (pos >= src_.size())
        error(pos, "unexpected end of template: '", variable ? "{{" : "{%", "' has no matching '", close, "'");
      if (depth == 0) {
        char modifier = src_[pos] == '-' || (!variable && src_[pos] == '+') ? src_[pos] : 0;
        size_t at = pos + (modifier ? 1 : 0);
        if (src_.compare(at, 2, close) == 0) {
          push(variable ? TokenType::VarEnd : TokenType::BlockEnd, "", pos);
          if (variable) return modifier == '-' ? skip_space(at + 2) : at + 2;
          return after_block_end(at + 2, modifier);
        }
      }
      char c = src_[pos];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t end = pos;
        while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
        push(TokenType::Name, src_.substr(pos, end - pos), pos);
        pos = end;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        pos = lex_number(pos);
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos);
      } else {
        const char* op = nullptr;
        for (const char* candidate : kOperators)
          if (src_.compare(pos, std::strlen(candidate), candidate) == 0) {
            op = candidate;
            break;
          }
        if (!op) {
          std::u32string cp = text::decode(std::string_view(src_).substr(pos, 4));
          error(pos, "unexpected character '", text::encode(cp.substr(0, 1)), "'");
        }
        if (std::strchr("([{", op[0]) && op[1] == 0) ++depth;
        if (std::strchr(")]}", op[0]) && op[1] == 0 && depth > 0) --depth;
        push(TokenType::Op, op, pos);
        pos += std::strlen(op);
      }
    }
  }

  size_t lex_number(size_t pos) {
    size_t end = pos;
    if (src_[pos] == '0' && pos + 1 < src_.size() && std::strchr("xXoObB", src_[pos + 1])) {
      int base = std::strchr("xX", src_[pos + 1]) ? 16 : std::strchr("oO", src_[pos + 1]) ? 8 : 2;
      end = pos + 2;
      std::string digits;
      while (end < src_.size() && (std::isxdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) {
        if (src_[end] != '_') digits += src_[end];
        ++end;
      }
      errno = 0;
      char* stop = nullptr;
      unsigned long long v = std::strtoull(digits.c_str(), &stop, base);
      if (digits.empty() || *stop != 0 || errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX))
        error(pos, "invalid integer literal '", src_.substr(pos, end - pos), "'");
      push(TokenType::Int, std::to_string(v), pos);
      return end;
    }
    auto digits = [&] {
      while (end < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
    };
    digits();
    bool is_float = false;
    // After '.', a number is an attribute index (x.0), like jinja2's (?<!\.) guard.
    bool after_dot = !out_.empty() && out_.back().type == TokenType::Op && out_.back().value == ".";
    if (!after_dot && end + 1 < src_.size() && src_[end] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      is_float = true;
      ++end;
      digits();
    }
    if (!after_dot && end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t e = end + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
        is_float = true;
        end = e;
        digits();
      }
    }
    std::string spelling;
    for (size_t i = pos; i < end; ++i)
      if (src_[i] != '_') spelling += src_[i];
    push(is_float ? TokenType::Float : TokenType::Int, spelling, pos);
    return end;
  }

  // String literals unescape like Python's "unicode-escape" codec, which is what jinja2 applies to them.
  size_t lex_string(size_t pos) {
    char quote = src_[pos];
    std::string value;
    size_t i = pos + 1;
    while (true) {
      if (i >= src_.size()) error(pos, "unterminated string literal");
      char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) error(pos, "unterminated string literal");
      char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case 'a':
          value += '\a';
          break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
          unsigned cp = static_cast<unsigned>(e - '0');
          for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k, ++i)
            cp = cp * 8 + static_cast<unsigned>(src_[i] - '0');
          text::append_utf8(value, cp);
          break;
        }
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          unsigned long cp = 0;
          for (size_t k = 0; k < n; ++k) {
            if (i + k >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[i + k])))
              error(i - 2, "truncated \\", std::string(1, e), " escape in string literal");
            cp = cp * 16 + static_cast<unsigned long>(std::stoi(std::string(1, src_[i + k]), nullptr, 16));
          }
          if (cp > 0x10FFFF) error(i - 2, "illegal Unicode character in string literal");
          text::append_utf8(value, static_cast<char32_t>(cp));
          i += n;
          break;
        }
        case '\n':
          break;  // a backslash-newline continues the line
        case '\\':
        case '\'':
        case '"':
          value += e;
          break;
        default:
          value += '\\';
          value += e;
      }
    }
    push(TokenType::String, std::move(value), pos);
    return i + 1;
  }

  std::string src_;
  const std::string& name_;
  LexOptions options_;
  std::vector<size_t> line_starts_;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source, const std::string& name, LexOptions options) {
  return Lexer(source, name, options).run();
}

}  // namespace glint::jinja
