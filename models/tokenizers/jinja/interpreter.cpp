// Evaluates the syntax tree: expressions with Python semantics, statements with jinja2's scoping (a for-loop
// iteration and a macro call are scopes; if and set are not), namespaces as the one mutable object.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "models/tokenizers/jinja/ast.h"
#include "models/tokenizers/jinja/builtins.h"
#include "models/tokenizers/jinja/lexer.h"
#include "models/tokenizers/jinja/parser.h"
#include "models/tokenizers/jinja/template.h"

namespace glint::jinja {
namespace {

constexpr int kMaxCallDepth = 100;                   // macro recursion bound
constexpr size_t kMaxOutputBytes = size_t{1} << 28;  // 256 MiB: a runaway template stops instead of eating memory
constexpr uint64_t kMaxSteps = 50'000'000;           // statements executed: nested loops cannot run for hours

struct Scope;
using ScopePtr = std::shared_ptr<Scope>;

struct Scope {
  std::unordered_map<std::string, Value> vars;
  ScopePtr parent;
  explicit Scope(ScopePtr p = nullptr) : parent(std::move(p)) {}
  const Value* lookup(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { Normal, Break, Continue };

[[noreturn]] void runtime_error(const std::string& what) { throw BuiltinError(what); }

void require_defined(const Value& v) {
  if (v.is_undefined()) runtime_error("'" + v.as_string() + "' is undefined");
}

std::string operand_types(const char* op, const Value& a, const Value& b) {
  return std::string("unsupported operand type(s) for ") + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'";
}

// Python ints do not overflow; past int64 the nearest double is the closest we hold.
template <class Op>
Value checked(Op op, const Value& a, const Value& b, double approx) {
  int64_t r = 0;
  if (op(a.as_int(), b.as_int(), &r)) return Value(approx);
  return Value(r);
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  require_defined(a);
  require_defined(b);
  bool numbers = a.is_number() && b.is_number();
  bool floats = a.is_float() || b.is_float();
  if (op == "+") {
    if (numbers && !floats)
      return checked([](int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }, a, b,
                     a.as_double() + b.as_double());
    if (numbers) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> xs = a.items();
      xs.insert(xs.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(xs), a.is_tuple());
    }
    if (a.is_string()) runtime_error("can only concatenate str (not \"" + b.type_name() + "\") to str");
    runtime_error(operand_types("+", a, b));
  }
  if (op == "-") {
    if (!numbers) runtime_error(operand_types("-", a, b));
    if (!floats)
      return checked([](int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }, a, b,
                     a.as_double() - b.as_double());
    return Value(a.as_double() - b.as_double());
  }
  if (op == "*") {
    if (numbers && !floats)
      return checked([](int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }, a, b,
                     a.as_double() * b.as_double());
    if (numbers) return Value(a.as_double() * b.as_double());
    const Value& seq = a.is_number() ? b : a;
    const Value& count = a.is_number() ? a : b;
    if (!count.is_number() || count.is_float() || !(seq.is_string() || seq.is_list()))
      runtime_error(operand_types("*", a, b));
    int64_t n = std::max<int64_t>(0, count.as_int());
    size_t unit = seq.is_string() ? seq.as_string().size() : seq.items().size();
    if (unit && static_cast<uint64_t>(n) > kMaxOutputBytes / unit) runtime_error("repetition result is too large");
    if (seq.is_string()) {
      std::string out;
      for (int64_t i = 0; i < n; ++i) out += seq.as_string();
      return Value(out);
    }
    std::vector<Value> out;
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
    return Value::list(std::move(out), seq.is_tuple());
  }
  if (!numbers) {
    if (op == "%" && a.is_string()) runtime_error("printf-style string formatting with % is not supported");
    runtime_error(operand_types(op.c_str(), a, b));
  }
  if (op == "/") {
    if (b.as_double() == 0) runtime_error("division by zero");
    return Value(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (b.as_double() == 0) runtime_error(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
    if (!floats) {
      int64_t x = a.as_int(), y = b.as_int();
      if (x == INT64_MIN && y == -1) return op == "//" ? Value(-static_cast<double>(x)) : Value(int64_t{0});
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return op == "//" ? Value(q) : Value(m);
    }
    double x = a.as_double(), y = b.as_double();
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return op == "//" ? Value(std::floor(x / y)) : Value(m);
  }
  if (op == "**") {
    if (!floats && b.as_int() >= 0) {
      int64_t base = a.as_int(), result = 1;
      bool overflow = false;
      for (int64_t e = b.as_int(); e > 0 && !overflow; --e) overflow = __builtin_mul_overflow(result, base, &result);
      if (!overflow) return Value(result);
    }
    return Value(std::pow(a.as_double(), b.as_double()));
  }
  runtime_error("unknown operator " + op);
}

// Whether `v` is or holds the namespace `target`; storing such a value in it would make a cycle.
bool references(const Value& v, const DictData* target) {
  if (v.is_mapping())
    return &v.dict_data() == target || std::any_of(v.dict_data().items.begin(), v.dict_data().items.end(),
                                                   [&](const auto& kv) { return references(kv.second, target); });
  if (v.is_list())
    return std::any_of(v.items().begin(), v.items().end(), [&](const Value& e) { return references(e, target); });
  return false;
}

bool contains(const Value& container, const Value& item) {
  CallArgs args;
  args.positional.push_back(container);
  return apply_test("in", item, args);
}

class Interpreter {
 public:
  explicit Interpreter(const std::string& name) : name_(name) {}

  Flow exec(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const auto& stmt : body) {
      if (++steps_ > kMaxSteps)
        template_error(name_, stmt->at, "template executed more than ", kMaxSteps, " statements");
      Flow f = exec_stmt(*stmt, scope, out);
      if (f != Flow::Normal) return f;
      if (out.size() > kMaxOutputBytes) template_error(name_, stmt->at, "output exceeds 256 MiB");
    }
    return Flow::Normal;
  }

 private:
  template <class Fn>
  auto located(SourceLocation at, Fn&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const BuiltinError& e) {
      template_error(name_, at, e.what());
    } catch (const TemplateRaised& e) {
      template_error(name_, at, "raise_exception: ", e.what());
    }
  }

  Flow exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Text:
        out += s.text;
        return Flow::Normal;
      case Stmt::Kind::Output:
        out += eval(*s.expr, scope).str();
        return Flow::Normal;
      case Stmt::Kind::If:
        for (size_t i = 0; i < s.conditions.size(); ++i)
          if (eval(*s.conditions[i], scope).truthy()) return exec(s.bodies[i], scope, out);
        return exec(s.else_body, scope, out);
      case Stmt::Kind::For:
        return exec_for(s, scope, out);
      case Stmt::Kind::Set: {
        Value v = eval(*s.expr, scope);
        located(s.at, [&] { assign(s, scope, std::move(v)); });
        return Flow::Normal;
      }
      case Stmt::Kind::SetBlock: {
        std::string rendered;
        exec(s.body, scope, rendered);
        Value v(std::move(rendered));
        scope->vars[s.targets[0]] = s.filter ? eval_filter(*s.filter, scope, &v) : v;
        return Flow::Normal;
      }
      case Stmt::Kind::Macro:
        scope->vars[s.targets[0]] = make_macro(s, scope);
        return Flow::Normal;
      case Stmt::Kind::CallBlock:
        out += eval_call(*s.expr, scope, &s).str();
        return Flow::Normal;
      case Stmt::Kind::FilterBlock: {
        std::string rendered;
        exec(s.body, scope, rendered);
        Value v(std::move(rendered));
        out += eval_filter(*s.filter, scope, &v).str();
        return Flow::Normal;
      }
      case Stmt::Kind::Break:
        return Flow::Break;
      case Stmt::Kind::Continue:
        return Flow::Continue;
      case Stmt::Kind::Generation:
        return exec(s.body, scope, out);
    }
    return Flow::Normal;
  }

  void bind_targets(const std::vector<std::string>& targets, const Value& item, Scope& scope) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = item;
      return;
    }
    Value parts = to_list(item);
    if (parts.items().size() != targets.size())
      runtime_error(parts.items().size() > targets.size()
                        ? "too many values to unpack (expected " + std::to_string(targets.size()) + ")"
                        : "not enough values to unpack (expected " + std::to_string(targets.size()) + ")");
    for (size_t i = 0; i < targets.size(); ++i) scope.vars[targets[i]] = parts.items()[i];
  }

  void assign(const Stmt& s, const ScopePtr& scope, Value v) {
    if (!s.attr.empty()) {
      const Value* ns = scope->lookup(s.targets[0]);
      if (!ns || !ns->is_namespace())
        runtime_error("cannot assign attribute on non-namespace object '" + s.targets[0] + "'");
      if (s.attr[0] == '_') runtime_error("Chat templates cannot store underscore-prefixed attributes on a namespace");
      if (references(v, &ns->dict_data())) runtime_error("a namespace cannot hold a reference to itself");
      ns->mutable_dict_data().set(s.attr, std::move(v));
      return;
    }
    bind_targets(s.targets, v, *scope);
  }

  Flow exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
    Value iterable = eval(*s.expr, scope);
    std::vector<Value> items = located(s.expr->at, [&] {
      if (iterable.is_none() || iterable.is_number() || iterable.is_callable() || iterable.is_namespace())
        runtime_error("'" + iterable.type_name() + "' object is not iterable");
      return to_list(iterable).items();
    });
    if (s.filter) {
      std::vector<Value> kept;
      for (const Value& item : items) {
        auto probe = std::make_shared<Scope>(scope);
        located(s.at, [&] { bind_targets(s.targets, item, *probe); });
        if (eval(*s.filter, probe).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec(s.else_body, std::make_shared<Scope>(scope), out);
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      auto iteration = std::make_shared<Scope>(scope);
      located(s.at, [&] { bind_targets(s.targets, items[static_cast<size_t>(i)], *iteration); });
      iteration->vars["loop"] = Value::dict({
          {"index", Value(i + 1)},
          {"index0", Value(i)},
          {"revindex", Value(n - i)},
          {"revindex0", Value(n - i - 1)},
          {"first", Value(i == 0)},
          {"last", Value(i == n - 1)},
          {"length", Value(n)},
          {"depth", Value(int64_t{1})},
          {"depth0", Value(int64_t{0})},
          {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("loop.previtem")},
          {"nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("loop.nextitem")},
          {"cycle", Value::callable("cycle",
                                    [i](const CallArgs& a) {
                                      if (a.positional.empty()) runtime_error("no items for cycling given");
                                      return a.positional[static_cast<size_t>(i) % a.positional.size()];
                                    })},
      });
      if (exec(s.body, iteration, out) == Flow::Break) break;
    }
    return Flow::Normal;
  }

  // The macro holds its scope weakly: the scope holds the macro, and a strong link both ways would leak.
  Value make_macro(const Stmt& m, const ScopePtr& defined_in) {
    std::weak_ptr<Scope> weak = defined_in;
    return Value::callable(m.targets[0], [this, &m, weak](const CallArgs& args) {
      ScopePtr scope = weak.lock();
      if (!scope) runtime_error("macro '" + m.targets[0] + "' called after the scope it was defined in ended");
      return invoke(m.params, m.body, scope, args, m.at);
    });
  }

  Value invoke(const std::vector<MacroParam>& params, const Body& body, const ScopePtr& defined_in,
               const CallArgs& args, SourceLocation at) {
    if (++call_depth_ > kMaxCallDepth) template_error(name_, at, "macro calls nested deeper than ", kMaxCallDepth);
    auto scope = std::make_shared<Scope>(defined_in);
    std::vector<std::pair<std::string, Value>> extra_kwargs;
    for (const auto& kw : args.keyword) {
      bool is_param =
          std::any_of(params.begin(), params.end(), [&](const MacroParam& p) { return p.name == kw.first; });
      if (kw.first == "caller")
        scope->vars["caller"] = kw.second;
      else if (!is_param)
        extra_kwargs.push_back(kw);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const Value* given = args.get(i, params[i].name.c_str());
      if (given)
        scope->vars[params[i].name] = *given;
      else if (params[i].default_value)
        scope->vars[params[i].name] = eval(*params[i].default_value, scope);
      else
        scope->vars[params[i].name] = Value::undefined(params[i].name);
    }
    std::vector<Value> varargs;
    for (size_t i = params.size(); i < args.positional.size(); ++i) varargs.push_back(args.positional[i]);
    scope->vars["varargs"] = Value::list(std::move(varargs));
    scope->vars["kwargs"] = Value::dict(std::move(extra_kwargs));
    std::string out;
    exec(body, scope, out);
    --call_depth_;
    return Value(std::move(out));
  }

  CallArgs eval_args(const Expr& e, const ScopePtr& scope) {
    CallArgs args;
    for (const auto& a : e.args) args.positional.push_back(eval(*a, scope));
    for (const auto& [k, a] : e.kwargs) args.keyword.emplace_back(k, eval(*a, scope));
    return args;
  }

  // A call; inside {% call %} the block becomes the `caller` the macro can invoke.
  Value eval_call(const Expr& e, const ScopePtr& scope, const Stmt* call_block) {
    Value callee = eval(*e.children[0], scope);
    CallArgs args = eval_args(e, scope);
    if (call_block)
      args.keyword.emplace_back("caller", Value::callable("caller", [this, call_block, scope](const CallArgs& a) {
                                  return invoke(call_block->params, call_block->body, scope, a, call_block->at);
                                }));
    return located(e.at, [&] {
      require_defined(callee);
      if (!callee.is_callable()) runtime_error("'" + callee.type_name() + "' object is not callable");
      return callee.call(args);
    });
  }

  Value eval_filter(const Expr& e, const ScopePtr& scope, const Value* block_subject) {
    Value subject = e.children[0]
                        ? (e.children[0]->kind == Expr::Kind::Filter ? eval_filter(*e.children[0], scope, block_subject)
                                                                     : eval(*e.children[0], scope))
                        : *block_subject;
    CallArgs args = eval_args(e, scope);
    return located(e.at, [&] { return apply_filter(e.name, subject, args); });
  }

  Value eval(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
      case Expr::Kind::Literal:
        return e.value;
      case Expr::Kind::Name: {
        const Value* v = scope->lookup(e.name);
        return v ? *v : Value::undefined(e.name);
      }
      case Expr::Kind::List:
      case Expr::Kind::Tuple: {
        std::vector<Value> xs;
        for (const auto& c : e.children) xs.push_back(eval(*c, scope));
        return Value::list(std::move(xs), e.kind == Expr::Kind::Tuple);
      }
      case Expr::Kind::Dict: {
        DictData d;
        for (size_t i = 0; i < e.keys.size(); ++i) {
          Value k = eval(*e.keys[i], scope);
          if (!k.is_string())
            template_error(name_, e.keys[i]->at, "dictionary keys must be strings, got ", k.type_name());
          d.set(k.as_string(), eval(*e.children[i], scope));
        }
        return Value::dict(std::move(d.items));
      }
      case Expr::Kind::Attr: {
        Value obj = eval(*e.children[0], scope);
        return located(e.at, [&] { return get_attribute(obj, e.name); });
      }
      case Expr::Kind::Item: {
        Value obj = eval(*e.children[0], scope);
        Value key = eval(*e.children[1], scope);
        return located(e.at, [&] { return get_item(obj, key); });
      }
      case Expr::Kind::Slice: {
        Value obj = eval(*e.children[0], scope);
        Value parts[3];
        for (int i = 0; i < 3; ++i)
          if (e.children[static_cast<size_t>(i) + 1]) parts[i] = eval(*e.children[static_cast<size_t>(i) + 1], scope);
        return located(e.at, [&] {
          require_defined(obj);
          return python_slice(obj, parts[0], parts[1], parts[2]);
        });
      }
      case Expr::Kind::Call:
        return eval_call(e, scope, nullptr);
      case Expr::Kind::Filter:
        return eval_filter(e, scope, nullptr);
      case Expr::Kind::Test: {
        Value subject = eval(*e.children[0], scope);
        CallArgs args = eval_args(e, scope);
        bool r = located(e.at, [&] { return apply_test(e.name, subject, args); });
        return Value(r != e.negated);
      }
      case Expr::Kind::Unary: {
        Value v = eval(*e.children[0], scope);
        if (e.name == "not") return Value(!v.truthy());
        return located(e.at, [&] {
          require_defined(v);
          if (!v.is_number()) runtime_error("bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
          if (e.name == "+") return v.is_bool() ? Value(v.as_int()) : v;
          return v.is_float() ? Value(-v.as_double()) : Value(-v.as_int());
        });
      }
      case Expr::Kind::Binary: {
        if (e.name == "and" || e.name == "or") {
          Value l = eval(*e.children[0], scope);
          if (l.truthy() == (e.name == "or")) return l;
          return eval(*e.children[1], scope);
        }
        Value l = eval(*e.children[0], scope);
        Value r = eval(*e.children[1], scope);
        if (e.name == "~") return Value(l.str() + r.str());
        return located(e.at, [&] { return arithmetic(e.name, l, r); });
      }
      case Expr::Kind::Compare: {
        Value left = eval(*e.children[0], scope);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.children[i + 1], scope);
          const std::string& op = e.ops[i];
          bool ok = located(e.at, [&] {
            if (op == "==") return left.equals(right);
            if (op == "!=") return !left.equals(right);
            if (op == "in") return contains(right, left);
            if (op == "not in") return !contains(right, left);
            require_defined(left);
            require_defined(right);
            const Value& a = op[0] == '<' ? left : right;
            const Value& b = op[0] == '<' ? right : left;
            auto lt = a.less(b);
            if (!lt)
              runtime_error("'" + op + "' not supported between instances of '" + left.type_name() + "' and '" +
                            right.type_name() + "'");
            return op.size() == 1 ? *lt : (*lt || a.equals(b));
          });
          if (!ok) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::Cond:
        if (eval(*e.children[0], scope).truthy()) return eval(*e.children[1], scope);
        return e.children[2] ? eval(*e.children[2], scope) : Value::undefined("conditional expression");
    }
    return Value();
  }

  const std::string& name_;
  int call_depth_ = 0;
  uint64_t steps_ = 0;
};

// jinja2 rejects unknown filters and tests when it compiles a template, even in branches never taken.
void check_names(const Expr* e, const std::string& name) {
  if (!e) return;
  if (e->kind == Expr::Kind::Filter && !has_filter(e->name))
    template_error(name, e->at, "unsupported filter '", e->name, "'");
  if (e->kind == Expr::Kind::Test && !has_test(e->name))
    template_error(name, e->at, "unsupported test '", e->name, "'");
  for (const auto& c : e->children) check_names(c.get(), name);
  for (const auto& c : e->keys) check_names(c.get(), name);
  for (const auto& c : e->args) check_names(c.get(), name);
  for (const auto& [k, c] : e->kwargs) check_names(c.get(), name);
}

void check_names(const Body& body, const std::string& name) {
  for (const auto& s : body) {
    check_names(s->expr.get(), name);
    check_names(s->filter.get(), name);
    for (const auto& c : s->conditions) check_names(c.get(), name);
    for (const auto& p : s->params) check_names(p.default_value.get(), name);
    for (const auto& b : s->bodies) check_names(b, name);
    check_names(s->body, name);
    check_names(s->else_body, name);
  }
}

}  // namespace

Template::Template(const std::string& source, std::string name) : name_(std::move(name)) {
  auto body = std::make_shared<Body>(parse(tokenize(source, name_), name_));
  check_names(*body, name_);
  body_ = std::move(body);
}

std::string Template::render(const std::vector<std::pair<std::string, Value>>& variables) const {
  auto globals = std::make_shared<Scope>();
  for (auto& [k, v] : global_functions()) globals->vars[k] = std::move(v);
  auto top = std::make_shared<Scope>(globals);
  for (const auto& [k, v] : variables) top->vars[k] = v;
  Interpreter interpreter(name_);
  std::string out;
  interpreter.exec(*body_, top, out);
  return out;
}

}  // namespace glint::jinja
