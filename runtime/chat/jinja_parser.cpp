#include "runtime/chat/jinja_parser.hpp"

#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "runtime/chat/jinja_parser_base.hpp"

namespace tessera::runtime::jinja {

namespace {

class Parser : public ParserBase {
 public:
  using ParserBase::ParserBase;

  Body parse() {
    Body body = parse_body({});
    if (peek().type != TokenType::eof) fail("unexpected tag", peek());
    return body;
  }

 private:
  // Statements ------------------------------------------------------------------------------

  // Parses until a `{% name %}` with name in `ends` (left unconsumed) or the end of input.
  Body parse_body(std::initializer_list<std::string_view> ends) {
    DepthGuard guard(*this, peek());
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == TokenType::eof) {
        if (ends.size() != 0) fail("unexpected end of template, expected '" + std::string(*ends.begin()) + "'", t);
        return body;
      }
      if (t.type == TokenType::text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::text;
        s->line = t.line;
        s->text = next().value;
        body.push_back(std::move(s));
      } else if (t.type == TokenType::var_begin) {
        next();
        auto s = stmt(Stmt::Kind::output, t);
        s->expr = parse_tuple_or_expression();
        if (peek().type != TokenType::var_end) fail("expected end of print statement '}}'", peek());
        next();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::block_begin) {
        const Token& name = peek(1);
        if (name.type != TokenType::name) fail("expected a statement name", name);
        for (auto end : ends)
          if (name.value == end) return body;
        next();
        next();
        body.push_back(parse_statement(name));
      } else {
        fail("unexpected token", t);
      }
    }
  }

  static StmtPtr stmt(Stmt::Kind kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = at.line;
    s->column = at.column;
    return s;
  }

  // Consumes `{% name %}` that closes a block.
  void end_tag(std::string_view name) {
    next();  // block_begin
    if (!accept_name(name)) fail("expected '" + std::string(name) + "'", peek());
    expect_block_end();
  }

  StmtPtr parse_statement(const Token& name) {
    const std::string& n = name.value;
    if (n == "if") return parse_if(name);
    if (n == "for") return parse_for(name);
    if (n == "set") return parse_set(name);
    if (n == "macro") return parse_macro(name);
    if (n == "call") return parse_call_block(name);
    if (n == "filter") return parse_filter_block(name);
    if (n == "break" || n == "continue") {
      expect_block_end();
      return stmt(n == "break" ? Stmt::Kind::break_ : Stmt::Kind::continue_, name);
    }
    if (n == "generation") {
      // HF's assistant-mask marker: the body renders as is.
      expect_block_end();
      auto s = stmt(Stmt::Kind::body, name);
      s->bodies.push_back(parse_body({"endgeneration"}));
      end_tag("endgeneration");
      return s;
    }
    if (n.rfind("end", 0) == 0 || n == "elif" || n == "else") fail("unexpected '" + n + "'", name);
    fail("unsupported statement '" + n + "'", name);
  }

  StmtPtr parse_if(const Token& at) {
    auto s = stmt(Stmt::Kind::if_, at);
    s->conditions.push_back(parse_tuple_or_expression());
    expect_block_end();
    while (true) {
      s->bodies.push_back(parse_body({"endif", "elif", "else"}));
      next();  // block_begin
      std::string which = next().value;
      if (which == "elif") {
        s->conditions.push_back(parse_tuple_or_expression());
        expect_block_end();
      } else if (which == "else") {
        expect_block_end();
        s->conditions.push_back(nullptr);
        s->bodies.push_back(parse_body({"endif"}));
        end_tag("endif");
        return s;
      } else {
        expect_block_end();
        return s;
      }
    }
  }

  Target parse_target() {
    Target t;
    t.names.push_back(expect_name());
    if (accept_op(".")) {
      t.attribute = expect_name();
      return t;
    }
    while (accept_op(",")) {
      if (peek().type != TokenType::name) break;
      t.names.push_back(expect_name());
    }
    return t;
  }

  StmtPtr parse_for(const Token& at) {
    auto s = stmt(Stmt::Kind::for_, at);
    bool parens = accept_op("(");
    s->target = parse_target();
    if (parens) expect_op(")");
    if (!s->target.attribute.empty()) fail("cannot assign to an attribute in a for loop", at);
    if (!accept_name("in")) fail("expected 'in' in for loop", peek());
    s->expr = parse_tuple_or_expression(/*with_condition=*/false);
    s->conditions.push_back(accept_name("if") ? parse_expression() : nullptr);
    if (at_name("recursive")) fail("recursive for loops are not supported", peek());
    expect_block_end();
    s->bodies.push_back(parse_body({"endfor", "else"}));
    if (at_name("else", 1)) {
      next();
      next();
      expect_block_end();
      s->bodies.push_back(parse_body({"endfor"}));
    } else {
      s->bodies.emplace_back();
    }
    end_tag("endfor");
    return s;
  }

  StmtPtr parse_set(const Token& at) {
    Target target = parse_target();
    if (accept_op("=")) {
      auto s = stmt(Stmt::Kind::set, at);
      s->target = std::move(target);
      s->expr = parse_tuple_or_expression();
      expect_block_end();
      return s;
    }
    auto s = stmt(Stmt::Kind::set_block, at);
    s->target = std::move(target);
    if (accept_op("|")) s->expr = parse_filter_chain(at);
    expect_block_end();
    s->bodies.push_back(parse_body({"endset"}));
    end_tag("endset");
    return s;
  }

  void parse_params(std::vector<std::pair<std::string, ExprPtr>>& params) {
    expect_op("(");
    while (!accept_op(")")) {
      if (!params.empty()) expect_op(",");
      if (accept_op(")")) break;
      std::string name = expect_name();
      ExprPtr def = accept_op("=") ? parse_expression() : nullptr;
      params.emplace_back(std::move(name), std::move(def));
    }
  }

  StmtPtr parse_macro(const Token& at) {
    auto s = stmt(Stmt::Kind::macro, at);
    s->target.names.push_back(expect_name());
    parse_params(s->params);
    expect_block_end();
    s->bodies.push_back(parse_body({"endmacro"}));
    end_tag("endmacro");
    return s;
  }

  StmtPtr parse_call_block(const Token& at) {
    auto s = stmt(Stmt::Kind::call_block, at);
    if (at_op("(")) parse_params(s->params);
    s->expr = parse_expression();
    if (s->expr->kind != Expr::Kind::call) fail("expected a macro call in call block", at);
    expect_block_end();
    s->bodies.push_back(parse_body({"endcall"}));
    end_tag("endcall");
    return s;
  }

  // A chain of filters applied to the name bound to the block's rendered body.
  ExprPtr parse_filter_chain(const Token& at) {
    auto input = node(Expr::Kind::name, at);
    input->name = kFilterBodyName;
    ExprPtr e = parse_filter(std::move(input));
    while (accept_op("|")) e = parse_filter(std::move(e));
    return e;
  }

  StmtPtr parse_filter_block(const Token& at) {
    auto s = stmt(Stmt::Kind::filter_block, at);
    s->expr = parse_filter_chain(at);
    expect_block_end();
    s->bodies.push_back(parse_body({"endfilter"}));
    end_tag("endfilter");
    return s;
  }
};

}  // namespace

Body parse_template(std::string_view source, int max_nesting) {
  return Parser(tokenize(source), max_nesting).parse();
}

}  // namespace tessera::runtime::jinja
