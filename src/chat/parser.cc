#include "chat/parser.h"

#include <charconv>
#include <cstdlib>

#include "chat/lexer.h"
#include "chat/validate.h"

namespace pocket::chat {
namespace {

[[noreturn]] void syntax_error(int line, const std::string& message) {
  raise("TemplateSyntaxError", "line " + std::to_string(line) + ": " + message);
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Program parse_program() {
    Program program;
    std::string end = parse_body(program.body, {});
    (void)end;
    return program;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  void next() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::kOperator && cur().value == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::kName && cur().value == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }
  std::string describe(const Token& t) const {
    switch (t.type) {
      case TokenType::kEof: return "end of template";
      case TokenType::kBlockEnd: return "'%}'";
      case TokenType::kVarEnd: return "'}}'";
      case TokenType::kBlockBegin: return "'{%'";
      case TokenType::kVarBegin: return "'{{'";
      case TokenType::kText: return "template text";
      case TokenType::kString: return "string literal";
      default: return "'" + t.value + "'";
    }
  }
  void expect_op(const char* op, const char* construct) {
    if (!skip_op(op)) {
      syntax_error(cur().line, std::string("expected '") + op + "' in " + construct + ", got " + describe(cur()));
    }
  }
  std::string expect_name(const char* construct) {
    if (cur().type != TokenType::kName) {
      syntax_error(cur().line, std::string("expected a name in ") + construct + ", got " + describe(cur()));
    }
    std::string v = cur().value;
    next();
    return v;
  }
  void expect_block_end(const char* construct) {
    if (cur().type != TokenType::kBlockEnd) {
      syntax_error(cur().line, std::string("expected '%}' to end ") + construct + ", got " + describe(cur()));
    }
    next();
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxParseDepth) {
        syntax_error(p.cur().line, "template nested too deeply (more than " + std::to_string(kMaxParseDepth) + ")");
      }
    }
    ~DepthGuard() { --p.depth_; }
  };

  // Sets e's subtree height from its children; refuses trees deeper than kMaxParseDepth.
  static ExprPtr& finish(ExprPtr& e) {
    int d = 0;
    if (e->base) d = e->base->depth;
    for (const auto& a : e->args) {
      if (a) d = std::max(d, a->depth);
    }
    for (const auto& kv : e->kwargs) d = std::max(d, kv.second->depth);
    e->depth = d + 1;
    if (e->depth > kMaxParseDepth) {
      syntax_error(e->line, "expression nested too deeply (more than " + std::to_string(kMaxParseDepth) + " levels)");
    }
    return e;
  }

  static ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // ---- statements ----
  // Parses statements until a block tag whose keyword is in `ends` (consumed, returned) or the end of input.
  std::string parse_body(Body& body, std::initializer_list<const char*> ends) {
    DepthGuard guard(*this);
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::kEof) {
        if (ends.size() != 0) {
          std::string want = *(ends.end() - 1);  // the closing tag is listed last
          for (const char* e : ends) {
            if (std::string_view(e).rfind("end", 0) == 0) want = e;
          }
          syntax_error(t.line, "unexpected end of template: missing '{% " + want + " %}'");
        }
        return "";
      }
      if (t.type == TokenType::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->line = t.line;
        s->text = t.value;
        body.push_back(std::move(s));
        next();
      } else if (t.type == TokenType::kVarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->line = t.line;
        next();
        s->expr = parse_tuple(true, false);
        if (cur().type != TokenType::kVarEnd) {
          syntax_error(cur().line, "expected '}}' to end the expression, got " + describe(cur()));
        }
        next();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kBlockBegin) {
        next();
        if (cur().type != TokenType::kName) syntax_error(cur().line, "expected a tag name after '{%'");
        std::string kw = cur().value;
        for (const char* e : ends) {
          if (kw == e) {
            next();
            return kw;
          }
        }
        body.push_back(parse_statement());
      } else {
        syntax_error(t.line, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const std::string kw = cur().value;
    int line = cur().line;
    auto s = std::make_unique<Stmt>();
    s->line = line;
    next();
    if (kw == "if") return parse_if(std::move(s));
    if (kw == "for") return parse_for(std::move(s));
    if (kw == "set") return parse_set(std::move(s));
    if (kw == "macro") return parse_macro(std::move(s));
    if (kw == "call") return parse_call_block(std::move(s));
    if (kw == "filter") {
      s->kind = StmtKind::kFilterBlock;
      s->expr = parse_filter_chain(nullptr);
      expect_block_end("'filter'");
      parse_body(s->body, {"endfilter"});
      expect_block_end("'endfilter'");
      return s;
    }
    if (kw == "break" || kw == "continue") {
      if (loop_depth_ == 0) syntax_error(line, "'" + kw + "' outside of a loop");
      s->kind = kw == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      expect_block_end(kw == "break" ? "'break'" : "'continue'");
      return s;
    }
    if (kw == "generation") {
      s->kind = StmtKind::kScope;
      expect_block_end("'generation'");
      parse_body(s->body, {"endgeneration"});
      expect_block_end("'endgeneration'");
      return s;
    }
    syntax_error(line, "encountered unknown tag '" + kw + "'");
  }

  StmtPtr parse_if(StmtPtr s) {
    s->kind = StmtKind::kIf;
    while (true) {
      s->conds.push_back(parse_tuple(true, false));
      expect_block_end("'if'");
      s->bodies.emplace_back();
      std::string end = parse_body(s->bodies.back(), {"elif", "else", "endif"});
      if (end == "elif") continue;
      if (end == "else") {
        expect_block_end("'else'");
        parse_body(s->else_body, {"endif"});
      }
      expect_block_end("'endif'");
      return s;
    }
  }

  StmtPtr parse_for(StmtPtr s) {
    s->kind = StmtKind::kFor;
    bool paren = skip_op("(");
    do {
      s->targets.push_back(expect_name("'for' target"));
    } while (skip_op(","));
    if (paren) expect_op(")", "'for' target");
    if (!skip_name("in")) syntax_error(cur().line, "expected 'in' in 'for', got " + describe(cur()));
    s->expr = parse_tuple(false, false, true);
    if (skip_name("if")) s->cond = parse_expression(true);
    if (skip_name("recursive")) s->recursive = true;
    expect_block_end("'for'");
    ++loop_depth_;
    std::string end = parse_body(s->body, {"endfor", "else"});
    --loop_depth_;
    if (end == "else") {
      expect_block_end("'else'");
      parse_body(s->else_body, {"endfor"});
    }
    expect_block_end("'endfor'");
    return s;
  }

  StmtPtr parse_set(StmtPtr s) {
    s->kind = StmtKind::kSet;
    s->targets.push_back(expect_name("'set' target"));
    if (skip_op(".")) {
      s->name = expect_name("'set' namespace attribute");
    } else {
      while (skip_op(",")) s->targets.push_back(expect_name("'set' target"));
    }
    if (skip_op("=")) {
      s->expr = parse_tuple(true, false);
      expect_block_end("'set'");
      return s;
    }
    if (s->targets.size() != 1) syntax_error(s->line, "a block 'set' takes exactly one target");
    s->kind = StmtKind::kSetBlock;
    if (is_op("|")) s->expr = parse_filter_chain(nullptr);
    expect_block_end("'set'");
    int saved = loop_depth_;
    parse_body(s->body, {"endset"});
    loop_depth_ = saved;
    expect_block_end("'endset'");
    return s;
  }

  void parse_params(Stmt& s, const char* construct) {
    expect_op("(", construct);
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",", construct);
      if (is_op(")")) break;
      std::string name = expect_name(construct);
      ExprPtr def;
      if (skip_op("=")) def = parse_expression(true);
      s.params.emplace_back(std::move(name), std::move(def));
    }
    next();
  }

  StmtPtr parse_macro(StmtPtr s) {
    s->kind = StmtKind::kMacro;
    s->name = expect_name("'macro'");
    parse_params(*s, "'macro' parameters");
    expect_block_end("'macro'");
    int saved = loop_depth_;
    loop_depth_ = 0;
    macros_.push_back(s.get());
    parse_body(s->body, {"endmacro"});
    macros_.pop_back();
    loop_depth_ = saved;
    expect_block_end("'endmacro'");
    return s;
  }

  StmtPtr parse_call_block(StmtPtr s) {
    s->kind = StmtKind::kCallBlock;
    if (is_op("(")) parse_params(*s, "'call' parameters");
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::kCall) syntax_error(s->line, "expected a call in '{% call %}'");
    expect_block_end("'call'");
    int saved = loop_depth_;
    loop_depth_ = 0;
    parse_body(s->body, {"endcall"});
    loop_depth_ = saved;
    expect_block_end("'endcall'");
    return s;
  }

  // ---- expressions ----
  bool at_tuple_end(bool for_iter) const {
    const Token& t = cur();
    if (t.type == TokenType::kVarEnd || t.type == TokenType::kBlockEnd || t.type == TokenType::kEof) return true;
    if (t.type == TokenType::kOperator && (t.value == ")" || t.value == "]")) return true;
    if (for_iter && t.type == TokenType::kName && (t.value == "if" || t.value == "recursive")) return true;
    return false;
  }

  ExprPtr parse_tuple(bool with_condexpr, bool explicit_parens, bool for_iter = false) {
    int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",", "tuple");
      if (at_tuple_end(for_iter)) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) syntax_error(line, "expected an expression, got " + describe(cur()));
    }
    auto e = make(ExprKind::kTuple, line);
    e->args = std::move(items);
    return std::move(finish(e));
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    if (!with_condexpr) return parse_or();
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      int line = cur().line;
      next();
      auto e = make(ExprKind::kCondExpr, line);
      e->base = parse_or();
      e->args.push_back(std::move(expr));
      if (skip_name("else")) {
        e->args.push_back(parse_expression(true));
      } else {
        e->args.push_back(nullptr);
      }
      expr = std::move(finish(e));
    }
    return expr;
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, int line) {
    auto e = make(ExprKind::kBinary, line);
    e->name = op;
    e->base = std::move(left);
    e->args.push_back(std::move(right));
    return std::move(finish(e));
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      int line = cur().line;
      next();
      left = binary("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      int line = cur().line;
      next();
      left = binary("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::kUnary, cur().line);
      next();
      e->name = "not";
      e->base = parse_not();
      return std::move(finish(e));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr expr = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().type == TokenType::kOperator &&
          (cur().value == "==" || cur().value == "!=" || cur().value == "<" || cur().value == ">" ||
           cur().value == "<=" || cur().value == ">=")) {
        op = cur().value;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().type == TokenType::kName && peek().value == "in") {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::kCompare, line);
        cmp->base = std::move(expr);
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
      finish(cmp);
    }
    return cmp ? std::move(cmp) : std::move(expr);
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().value;
      int line = cur().line;
      next();
      left = binary(op, std::move(left), parse_concat(), line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      int line = cur().line;
      next();
      left = binary("~", std::move(left), parse_math2(), line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().value;
      int line = cur().line;
      next();
      left = binary(op, std::move(left), parse_pow(), line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      int line = cur().line;
      next();
      left = binary("**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(ExprKind::kUnary, cur().line);
      node->name = cur().value;
      next();
      node->base = parse_unary(false);
      finish(node);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    int line = t.line;
    switch (t.type) {
      case TokenType::kName: {
        std::string v = t.value;
        next();
        auto e = make(ExprKind::kLiteral, line);
        if (v == "true" || v == "True") {
          e->literal = Value(true);
        } else if (v == "false" || v == "False") {
          e->literal = Value(false);
        } else if (v == "none" || v == "None") {
          e->literal = Value::none();
        } else {
          e->kind = ExprKind::kName;
          e->name = v;
          for (Stmt* m : macros_) {  // Jinja marks every enclosing macro
            m->uses_varargs |= v == "varargs";
            m->uses_kwargs |= v == "kwargs";
            m->uses_caller |= v == "caller";
          }
        }
        return e;
      }
      case TokenType::kString: {
        std::string v;
        while (cur().type == TokenType::kString) {
          v += cur().value;
          next();
        }
        auto e = make(ExprKind::kLiteral, line);
        e->literal = Value(std::move(v));
        return e;
      }
      case TokenType::kInt: {
        auto e = make(ExprKind::kLiteral, line);
        int64_t v = 0;
        auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
        if (res.ec != std::errc()) {
          e->literal = Value(std::strtod(t.value.c_str(), nullptr));
        } else {
          e->literal = Value(v);
        }
        next();
        return e;
      }
      case TokenType::kFloat: {
        auto e = make(ExprKind::kLiteral, line);
        e->literal = Value(std::strtod(t.value.c_str(), nullptr));
        next();
        return e;
      }
      case TokenType::kOperator:
        if (t.value == "(") {
          next();
          ExprPtr e = parse_tuple(true, true);
          expect_op(")", "parenthesized expression");
          return e;
        }
        if (t.value == "[") return parse_list();
        if (t.value == "{") return parse_dict();
        break;
      default: break;
    }
    syntax_error(line, "unexpected " + describe(t) + " in expression");
  }

  ExprPtr parse_list() {
    auto e = make(ExprKind::kList, cur().line);
    next();
    while (!is_op("]")) {
      if (!e->args.empty()) expect_op(",", "list literal");
      if (is_op("]")) break;
      e->args.push_back(parse_expression(true));
    }
    next();
    return std::move(finish(e));
  }

  ExprPtr parse_dict() {
    auto e = make(ExprKind::kDict, cur().line);
    next();
    while (!is_op("}")) {
      if (!e->args.empty()) expect_op(",", "dict literal");
      if (is_op("}")) break;
      e->args.push_back(parse_expression(true));
      expect_op(":", "dict literal");
      e->args.push_back(parse_expression(true));
    }
    next();
    return std::move(finish(e));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        int line = cur().line;
        next();
        if (cur().type == TokenType::kName) {
          auto e = make(ExprKind::kGetAttr, line);
          e->name = cur().value;
          e->base = std::move(node);
          next();
          node = std::move(finish(e));
        } else if (cur().type == TokenType::kInt) {
          auto e = make(ExprKind::kGetItem, line);
          e->base = std::move(node);
          auto idx = make(ExprKind::kLiteral, line);
          idx->literal = Value(static_cast<int64_t>(std::strtoll(cur().value.c_str(), nullptr, 10)));
          e->args.push_back(std::move(idx));
          next();
          node = std::move(finish(e));
        } else {
          syntax_error(line, "expected an attribute name after '.', got " + describe(cur()));
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr base) {
    int line = cur().line;
    next();
    ExprPtr start, stop, step;
    bool is_slice = false;
    if (!is_op(":")) start = parse_expression(true);
    if (skip_op(":")) {
      is_slice = true;
      if (!is_op("]") && !is_op(":")) stop = parse_expression(true);
      if (skip_op(":")) {
        if (!is_op("]")) step = parse_expression(true);
      }
    }
    expect_op("]", "subscript");
    auto e = make(is_slice ? ExprKind::kSlice : ExprKind::kGetItem, line);
    e->base = std::move(base);
    e->args.push_back(std::move(start));
    if (is_slice) {
      e->args.push_back(std::move(stop));
      e->args.push_back(std::move(step));
    }
    return std::move(finish(e));
  }

  void parse_call_args(Expr& e) {
    expect_op("(", "call");
    while (!is_op(")")) {
      if (!e.args.empty() || !e.kwargs.empty()) expect_op(",", "call arguments");
      if (is_op(")")) break;
      if (cur().type == TokenType::kName && peek().type == TokenType::kOperator && peek().value == "=") {
        std::string key = cur().value;
        next();
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!e.kwargs.empty()) syntax_error(cur().line, "positional argument follows keyword argument");
        e.args.push_back(parse_expression(true));
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr base) {
    auto e = make(ExprKind::kCall, cur().line);
    e->base = std::move(base);
    parse_call_args(*e);
    return std::move(finish(e));
  }

  std::string parse_dotted_name(const char* construct) {
    std::string name = expect_name(construct);
    while (is_op(".") && peek().type == TokenType::kName) {
      next();
      name += "." + cur().value;
      next();
    }
    return name;
  }

  ExprPtr parse_filter_chain(ExprPtr node) {
    bool first = true;
    while (first || is_op("|")) {
      if (!first || is_op("|")) next();
      first = false;
      auto e = make(ExprKind::kFilter, cur().line);
      e->name = parse_dotted_name("filter");
      e->base = std::move(node);
      if (is_op("(")) parse_call_args(*e);
      node = std::move(finish(e));
    }
    return node;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filter_chain(std::move(node));
      } else if (is_name("is")) {
        auto e = make(ExprKind::kTest, cur().line);
        next();
        e->negated = skip_name("not");
        e->name = parse_dotted_name("test");
        e->base = std::move(node);
        const Token& t = cur();
        if (is_op("(")) {
          parse_call_args(*e);
        } else if ((t.type == TokenType::kName || t.type == TokenType::kString || t.type == TokenType::kInt ||
                    t.type == TokenType::kFloat || is_op("[") || is_op("{")) &&
                   !(is_name("else") || is_name("or") || is_name("and"))) {
          e->args.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(finish(e));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<Stmt*> macros_;  // macros being parsed, innermost last
};

}  // namespace

Result<Program> parse_template(std::string_view source) {
  POCKET_ASSIGN_OR_RETURN(auto tokens, tokenize(source));
  try {
    Program program = Parser(std::move(tokens)).parse_program();
    POCKET_RETURN_IF_ERROR(validate_program(program));
    return program;
  } catch (const JinjaError& e) {
    return failure("{}: {}", e.type, e.message);
  }
}

}  // namespace pocket::chat
