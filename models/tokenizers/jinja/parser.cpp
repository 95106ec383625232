#include "models/tokenizers/jinja/parser.h"

#include <cstdlib>
#include <set>

namespace glint::jinja {
namespace {

constexpr int kMaxDepth = 200;  // nesting bound, so hostile templates cannot exhaust the stack

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name) : toks_(tokens), name_(name) {}

  Body parse_template() {
    std::string which;
    Body body = parse_body({}, &which, {});
    return body;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t ahead = 1) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::Op && cur().value == op; }
  bool is_name(const char* n) const { return cur().type == TokenType::Name && cur().value == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    advance();
    return true;
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::Text:
        return "template text";
      case TokenType::VarBegin:
        return "'{{'";
      case TokenType::VarEnd:
        return "end of print statement '}}'";
      case TokenType::BlockBegin:
        return "'{%'";
      case TokenType::BlockEnd:
        return "end of statement block '%}'";
      case TokenType::Name:
        return "'" + t.value + "'";
      case TokenType::String:
        return "string literal";
      case TokenType::Int:
      case TokenType::Float:
        return "number " + t.value;
      case TokenType::Op:
        return "'" + t.value + "'";
      default:
        return "end of template";
    }
  }

  template <class... Args>
  [[noreturn]] void error_at(const Token& t, const Args&... what) {
    template_error(name_, t.at, what...);
  }

  void expect_op(const char* op) {
    if (!skip_op(op)) error_at(cur(), "expected '", op, "', found ", describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != TokenType::Name) error_at(cur(), "expected a name, found ", describe(cur()));
    std::string n = cur().value;
    advance();
    return n;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd)
      error_at(cur(), "expected end of statement block '%}', found ", describe(cur()));
    advance();
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxDepth) p.error_at(p.cur(), "template nesting deeper than ", kMaxDepth, " levels");
    }
    ~DepthGuard() { --p.depth_; }
  };

  // ---- statements ----
  // Parses until a block tag named in `ends`; consumes '{%' and that name and reports it in *which.
  Body parse_body(const std::set<std::string>& ends, std::string* which, const Token& opener) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      switch (t.type) {
        case TokenType::End:
          if (!ends.empty())
            error_at(opener, "unexpected end of template: ", describe(opener), " block was never closed (expected '",
                     *ends.rbegin(), "')");
          return body;
        case TokenType::Text: {
          auto s = make_stmt(Stmt::Kind::Text, t);
          s->text = t.value;
          body.push_back(std::move(s));
          advance();
          break;
        }
        case TokenType::VarBegin: {
          auto s = make_stmt(Stmt::Kind::Output, t);
          advance();
          s->expr = parse_tuple(true);
          if (cur().type != TokenType::VarEnd)
            error_at(cur(), "expected end of print statement '}}', found ", describe(cur()));
          advance();
          body.push_back(std::move(s));
          break;
        }
        case TokenType::BlockBegin: {
          const Token& tag = peek();
          if (tag.type != TokenType::Name) error_at(tag, "expected a statement name after '{%', found ", describe(tag));
          if (ends.count(tag.value)) {
            advance();
            advance();
            *which = tag.value;
            return body;
          }
          advance();
          body.push_back(parse_statement());
          break;
        }
        default:
          error_at(t, "unexpected ", describe(t));
      }
    }
  }

  StmtPtr make_stmt(Stmt::Kind kind, const Token& t) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->at = t.at;
    return s;
  }

  StmtPtr parse_statement() {
    const Token tag = cur();
    const std::string& n = tag.value;
    advance();
    if (n == "if") return parse_if(tag);
    if (n == "for") return parse_for(tag);
    if (n == "set") return parse_set(tag);
    if (n == "macro") return parse_macro(tag);
    if (n == "call") return parse_call_block(tag);
    if (n == "filter") return parse_filter_block(tag);
    if (n == "generation") {
      auto s = make_stmt(Stmt::Kind::Generation, tag);
      expect_block_end();
      std::string which;
      s->body = parse_body({"endgeneration"}, &which, tag);
      expect_block_end();
      return s;
    }
    if (n == "break" || n == "continue") {
      if (loop_depth_ == 0) error_at(tag, "'", n, "' outside of a for loop");
      auto s = make_stmt(n == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, tag);
      expect_block_end();
      return s;
    }
    static const std::set<std::string> known = {"extends", "include",    "import", "from",  "block", "raw",
                                                "with",    "autoescape", "do",     "trans", "print"};
    if (known.count(n)) error_at(tag, "unsupported tag '", n, "'");
    if (n.rfind("end", 0) == 0 || n == "elif" || n == "else")
      error_at(tag, "unexpected '", n, "' with no open block it could close");
    error_at(tag, "unknown tag '", n, "'");
  }

  StmtPtr parse_if(const Token& tag) {
    auto s = make_stmt(Stmt::Kind::If, tag);
    s->conditions.push_back(parse_tuple(false));
    expect_block_end();
    while (true) {
      std::string which;
      Body body = parse_body({"elif", "else", "endif"}, &which, tag);
      if (which == "elif") {
        s->bodies.push_back(std::move(body));
        s->conditions.push_back(parse_tuple(false));
        expect_block_end();
        continue;
      }
      s->bodies.push_back(std::move(body));
      expect_block_end();
      if (which == "else") {
        s->else_body = parse_body({"endif"}, &which, tag);
        expect_block_end();
      }
      return s;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    names.push_back(expect_name());
    while (skip_op(",")) {
      if (cur().type != TokenType::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for(const Token& tag) {
    auto s = make_stmt(Stmt::Kind::For, tag);
    s->targets = parse_targets();
    if (!skip_name("in")) error_at(cur(), "expected 'in' in for loop, found ", describe(cur()));
    s->expr = parse_tuple(false);
    if (skip_name("if")) s->filter = parse_expression(true);
    if (is_name("recursive")) error_at(cur(), "unsupported recursive for loop");
    expect_block_end();
    ++loop_depth_;
    std::string which;
    s->body = parse_body({"else", "endfor"}, &which, tag);
    --loop_depth_;
    expect_block_end();
    if (which == "else") {
      s->else_body = parse_body({"endfor"}, &which, tag);
      expect_block_end();
    }
    return s;
  }

  StmtPtr parse_set(const Token& tag) {
    auto s = make_stmt(Stmt::Kind::Set, tag);
    std::string first = expect_name();
    s->targets.push_back(first);
    if (skip_op(".")) {
      s->attr = expect_name();
    } else {
      while (skip_op(",")) s->targets.push_back(expect_name());
    }
    if (skip_op("=")) {
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    if (!s->attr.empty() || s->targets.size() != 1) error_at(cur(), "expected '=' in set, found ", describe(cur()));
    s->kind = Stmt::Kind::SetBlock;
    if (is_op("|")) s->filter = parse_filter_chain(nullptr);
    expect_block_end();
    std::string which;
    s->body = parse_body({"endset"}, &which, tag);
    expect_block_end();
    return s;
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression(true);
      params.push_back(std::move(p));
    }
    expect_op(")");
    return params;
  }

  StmtPtr parse_macro(const Token& tag) {
    auto s = make_stmt(Stmt::Kind::Macro, tag);
    s->targets.push_back(expect_name());
    s->params = parse_params();
    expect_block_end();
    int saved = loop_depth_;
    loop_depth_ = 0;
    std::string which;
    s->body = parse_body({"endmacro"}, &which, tag);
    loop_depth_ = saved;
    if (cur().type == TokenType::Name) advance();  // {% endmacro name %}
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(const Token& tag) {
    auto s = make_stmt(Stmt::Kind::CallBlock, tag);
    if (is_op("(")) s->params = parse_params();
    s->expr = parse_expression(true);
    if (s->expr->kind != Expr::Kind::Call) error_at(tag, "expected a call after 'call'");
    expect_block_end();
    std::string which;
    s->body = parse_body({"endcall"}, &which, tag);
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(const Token& tag) {
    auto s = make_stmt(Stmt::Kind::FilterBlock, tag);
    s->filter = parse_filter_chain(nullptr, /*leading_pipe=*/false);
    expect_block_end();
    std::string which;
    s->body = parse_body({"endfilter"}, &which, tag);
    expect_block_end();
    return s;
  }

  // ---- expressions ----
  ExprPtr make(Expr::Kind kind, const Token& t) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->at = t.at;
    return e;
  }

  ExprPtr parse_tuple(bool with_condexpr) {
    const Token start = cur();
    ExprPtr first = parse_expression(with_condexpr);
    if (!is_op(",")) return first;
    auto t = make(Expr::Kind::Tuple, start);
    t->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().type == TokenType::BlockEnd || cur().type == TokenType::VarEnd || is_op(")")) break;
      t->children.push_back(parse_expression(with_condexpr));
    }
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    const Token start = cur();
    ExprPtr expr = parse_or();
    while (skip_name("if")) {
      auto c = make(Expr::Kind::Cond, start);
      c->children.push_back(parse_or());
      c->children.push_back(std::move(expr));
      c->children.push_back(skip_name("else") ? parse_condexpr() : nullptr);
      expr = std::move(c);
    }
    return expr;
  }

  ExprPtr binary(const Token& at, const std::string& op, ExprPtr l, ExprPtr r) {
    auto b = make(Expr::Kind::Binary, at);
    b->name = op;
    b->children.push_back(std::move(l));
    b->children.push_back(std::move(r));
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const Token t = cur();
      advance();
      left = binary(t, "or", std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const Token t = cur();
      advance();
      left = binary(t, "and", std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto u = make(Expr::Kind::Unary, cur());
      advance();
      u->name = "not";
      u->children.push_back(parse_not());
      return u;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token start = cur();
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().type == TokenType::Op && (cur().value == "==" || cur().value == "!=" || cur().value == "<" ||
                                          cur().value == "<=" || cur().value == ">" || cur().value == ">=")) {
        op = cur().value;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == TokenType::Name && peek().value == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Kind::Compare, start);
        cmp->children.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token t = cur();
      advance();
      left = binary(t, t.value, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Token t = cur();
      advance();
      left = binary(t, "~", std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token t = cur();
      advance();
      left = binary(t, t.value, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token t = cur();
      advance();
      left = binary(t, "**", std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto u = make(Expr::Kind::Unary, cur());
      u->name = cur().value;
      advance();
      u->children.push_back(parse_unary(false));
      node = std::move(u);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token t = cur();
    switch (t.type) {
      case TokenType::Name: {
        advance();
        auto e = make(Expr::Kind::Literal, t);
        if (t.value == "true" || t.value == "True")
          e->value = Value(true);
        else if (t.value == "false" || t.value == "False")
          e->value = Value(false);
        else if (t.value == "none" || t.value == "None")
          e->value = Value::none();
        else {
          e->kind = Expr::Kind::Name;
          e->name = t.value;
        }
        return e;
      }
      case TokenType::String: {
        std::string s;
        while (cur().type == TokenType::String) {  // adjacent literals concatenate, as in Python
          s += cur().value;
          advance();
        }
        auto e = make(Expr::Kind::Literal, t);
        e->value = Value(std::move(s));
        return e;
      }
      case TokenType::Int: {
        advance();
        auto e = make(Expr::Kind::Literal, t);
        errno = 0;
        long long v = std::strtoll(t.value.c_str(), nullptr, 10);
        if (errno == ERANGE)
          e->value = Value(std::strtod(t.value.c_str(), nullptr));
        else
          e->value = Value(static_cast<int64_t>(v));
        return e;
      }
      case TokenType::Float: {
        advance();
        auto e = make(Expr::Kind::Literal, t);
        e->value = Value(std::strtod(t.value.c_str(), nullptr));
        return e;
      }
      case TokenType::Op:
        if (t.value == "(") {
          advance();
          if (skip_op(")")) return make(Expr::Kind::Tuple, t);
          ExprPtr inner = parse_tuple(true);
          expect_op(")");
          return inner;
        }
        if (t.value == "[") {
          advance();
          auto e = make(Expr::Kind::List, t);
          while (!is_op("]")) {
            if (!e->children.empty()) expect_op(",");
            if (is_op("]")) break;
            e->children.push_back(parse_expression(true));
          }
          expect_op("]");
          return e;
        }
        if (t.value == "{") {
          advance();
          auto e = make(Expr::Kind::Dict, t);
          while (!is_op("}")) {
            if (!e->keys.empty()) expect_op(",");
            if (is_op("}")) break;
            e->keys.push_back(parse_expression(true));
            expect_op(":");
            e->children.push_back(parse_expression(true));
          }
          expect_op("}");
          return e;
        }
        break;
      default:
        break;
    }
    error_at(t, "unexpected ", describe(t), " where an expression was expected");
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        const Token t = cur();
        advance();
        if (cur().type == TokenType::Int) {
          auto e = make(Expr::Kind::Item, t);
          auto idx = make(Expr::Kind::Literal, cur());
          idx->value = Value(static_cast<int64_t>(std::strtoll(cur().value.c_str(), nullptr, 10)));
          advance();
          e->children.push_back(std::move(node));
          e->children.push_back(std::move(idx));
          node = std::move(e);
          continue;
        }
        auto e = make(Expr::Kind::Attr, t);
        e->name = expect_name();
        e->children.push_back(std::move(node));
        node = std::move(e);
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const Token t = cur();
    advance();
    ExprPtr parts[3];
    int colons = 0;
    if (!is_op(":")) parts[0] = parse_expression(true);
    while (colons < 2 && skip_op(":")) {
      ++colons;
      if (!is_op(":") && !is_op("]")) parts[colons] = parse_expression(true);
    }
    expect_op("]");
    auto e = make(colons ? Expr::Kind::Slice : Expr::Kind::Item, t);
    e->children.push_back(std::move(node));
    e->children.push_back(std::move(parts[0]));
    if (colons) {
      e->children.push_back(std::move(parts[1]));
      e->children.push_back(std::move(parts[2]));
    }
    return e;
  }

  void parse_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (!e.args.empty() || !e.kwargs.empty()) expect_op(",");
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error_at(cur(), "unsupported argument unpacking '", cur().value, "'");
      if (cur().type == TokenType::Name && peek().type == TokenType::Op && peek().value == "=") {
        std::string key = cur().value;
        advance();
        advance();
        e.kwargs.emplace_back(key, parse_expression(true));
      } else {
        if (!e.kwargs.empty()) error_at(cur(), "positional argument follows keyword argument");
        e.args.push_back(parse_expression(true));
      }
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make(Expr::Kind::Call, cur());
    e->children.push_back(std::move(node));
    parse_args(*e);
    return e;
  }

  // `subject | name(args) | ...`; a null subject is the body of a {% filter %} block.
  ExprPtr parse_filter_chain(ExprPtr subject, bool leading_pipe = true) {
    bool first = true;
    while ((first && !leading_pipe) || is_op("|")) {
      if (!(first && !leading_pipe)) advance();
      first = false;
      auto f = make(Expr::Kind::Filter, cur());
      f->name = expect_name();
      while (is_op(".") && peek().type == TokenType::Name) {
        advance();
        f->name += "." + expect_name();
      }
      if (is_op("(")) parse_args(*f);
      f->children.push_back(std::move(subject));
      subject = std::move(f);
    }
    return subject;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filter_chain(std::move(node));
      } else if (is_name("is")) {
        advance();
        auto t = make(Expr::Kind::Test, cur());
        t->negated = skip_name("not");
        t->name = expect_name();
        while (is_op(".") && peek().type == TokenType::Name) {
          advance();
          t->name += "." + expect_name();
        }
        t->children.push_back(std::move(node));
        if (is_op("(")) {
          parse_args(*t);
        } else if ((cur().type == TokenType::Name || cur().type == TokenType::String || cur().type == TokenType::Int ||
                    cur().type == TokenType::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) error_at(cur(), "you cannot chain multiple tests with 'is'");
          t->args.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(t);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  const std::vector<Token>& toks_;
  const std::string& name_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const std::string& name) { return Parser(tokens, name).parse_template(); }

}  // namespace glint::jinja
