// Splits template source into text and tag tokens the way jinja2's lexer does with the settings transformers
// uses for chat templates: trim_blocks, lstrip_blocks, '-' / '+' whitespace control, one trailing newline dropped.
#pragma once
#include <string>
#include <vector>

#include "models/tokenizers/jinja/error.h"

namespace glint::jinja {

enum class TokenType { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
  TokenType type;
  std::string value;  // text, name, unescaped string literal, number spelling or operator
  SourceLocation at;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// Throws glint::Error "[<name>] line L, column C: ..." on unterminated tags, strings or unknown characters.
std::vector<Token> tokenize(const std::string& source, const std::string& name, LexOptions options = {});

}  // namespace glint::jinja
