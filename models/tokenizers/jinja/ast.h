// The syntax tree of a parsed template: expressions and statements, each with the place it came from.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/tokenizers/jinja/error.h"
#include "models/tokenizers/jinja/value.h"

namespace glint::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,  // value
    Name,     // name
    List,     // children
    Tuple,    // children
    Dict,     // keys[i] -> children[i]
    Attr,     // children[0] . name
    Item,     // children[0] [ children[1] ]
    Slice,    // children[0] [ children[1] : children[2] : children[3] ] (null parts omitted)
    Call,     // children[0] ( args, kwargs )
    Filter,   // children[0] | name ( args, kwargs ); children[0] null inside {% filter %}
    Test,     // children[0] is [not] name ( args )
    Unary,    // op children[0]: "-", "+", "not"
    Binary,   // children[0] op children[1]: + - * / // % ** ~ and or
    Compare,  // children[0] ops[i] children[i+1] ...
    Cond,     // children[1] if children[0] else children[2] (children[2] null: undefined)
  };
  Kind kind;
  SourceLocation at;
  Value value;
  std::string name;  // variable, attribute, filter or test name; operator for Unary/Binary
  bool negated = false;
  std::vector<ExprPtr> children;
  std::vector<ExprPtr> keys;
  std::vector<std::string> ops;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    Text,         // text
    Output,       // {{ expr }}
    If,           // conditions[i] -> bodies[i]; else_body
    For,          // for targets in expr [if filter] body [else else_body]
    Set,          // set targets = expr; or set targets[0].attr = expr (attr non-empty)
    SetBlock,     // set targets[0] | filters... body
    Macro,        // macro name(params) body
    CallBlock,    // call(params) expr body
    FilterBlock,  // filter expr (a Filter chain whose innermost subject is null) body
    Break,
    Continue,
    Generation,  // transformers' {% generation %} marks assistant text; rendering is the body's
  };
  Kind kind;
  SourceLocation at;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<std::string> targets;
  std::string attr;
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<MacroParam> params;
};

}  // namespace glint::jinja
