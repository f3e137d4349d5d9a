// Expression parsing with jinja2's precedence: conditional < or < and < not < comparison
// < + - < ~ < * / // % < ** < unary < postfix, filters and tests.
#include <charconv>
#include <cstdlib>

#include "runtime/chat/jinja_builtins.hpp"
#include "runtime/chat/jinja_parser_base.hpp"

namespace tessera::runtime::jinja {

// `a, b` builds a tuple where jinja2 allows one: print, set values, for iterables, if tests.
ExprPtr ParserBase::parse_tuple_or_expression(bool with_condition) {
  const Token& at = peek();
  ExprPtr first = parse_expression(with_condition);
  if (!at_op(",")) return first;
  auto t = node(Expr::Kind::tuple, at);
  t->args.push_back(std::move(first));
  while (accept_op(",")) {
    if (peek().type == TokenType::block_end || peek().type == TokenType::var_end || at_name("if")) break;
    t->args.push_back(parse_expression(with_condition));
  }
  return t;
}

ExprPtr ParserBase::parse_expression(bool with_condition) {
  DepthGuard guard(*this, peek());
  ExprPtr e = parse_or();
  if (!with_condition) return e;
  int chain = 0;
  while (at_name("if")) {
    chain_step(chain);
    const Token& at = next();
    auto c = node(Expr::Kind::conditional, at);
    c->args.push_back(std::move(e));
    c->args.push_back(parse_or());
    c->args.push_back(accept_name("else") ? parse_expression() : nullptr);
    e = std::move(c);
  }
  return e;
}

ExprPtr ParserBase::parse_or() {
  ExprPtr left = parse_and();
  int chain = 0;
  while (at_name("or")) {
    chain_step(chain);
    auto e = node(Expr::Kind::logical_or, next());
    e->args.push_back(std::move(left));
    e->args.push_back(parse_and());
    left = std::move(e);
  }
  return left;
}

ExprPtr ParserBase::parse_and() {
  ExprPtr left = parse_not();
  int chain = 0;
  while (at_name("and")) {
    chain_step(chain);
    auto e = node(Expr::Kind::logical_and, next());
    e->args.push_back(std::move(left));
    e->args.push_back(parse_not());
    left = std::move(e);
  }
  return left;
}

ExprPtr ParserBase::parse_not() {
  if (at_name("not")) {
    DepthGuard guard(*this, peek());
    auto e = node(Expr::Kind::logical_not, next());
    e->args.push_back(parse_not());
    return e;
  }
  return parse_compare();
}

ExprPtr ParserBase::parse_compare() {
  const Token& at = peek();
  ExprPtr first = parse_math1();
  ExprPtr cmp;
  int chain = 0;
  while (true) {
    chain_step(chain);
    std::string op;
    if (peek().type == TokenType::op &&
        (at_op("==") || at_op("!=") || at_op("<") || at_op("<=") || at_op(">") || at_op(">="))) {
      op = next().value;
    } else if (at_name("in")) {
      next();
      op = "in";
    } else if (at_name("not") && at_name("in", 1)) {
      next();
      next();
      op = "not in";
    } else {
      break;
    }
    if (!cmp) {
      cmp = node(Expr::Kind::compare, at);
      cmp->args.push_back(std::move(first));
    }
    cmp->ops.push_back(op);
    cmp->args.push_back(parse_math1());
  }
  return cmp ? std::move(cmp) : std::move(first);
}

ExprPtr ParserBase::binary(std::string op, ExprPtr l, ExprPtr r, const Token& at) {
  auto e = node(Expr::Kind::binary, at);
  e->name = std::move(op);
  e->args.push_back(std::move(l));
  e->args.push_back(std::move(r));
  return e;
}

ExprPtr ParserBase::parse_math1() {
  ExprPtr left = parse_concat();
  int chain = 0;
  while (at_op("+") || at_op("-")) {
    chain_step(chain);
    const Token& at = next();
    left = binary(at.value, std::move(left), parse_concat(), at);
  }
  return left;
}

ExprPtr ParserBase::parse_concat() {
  ExprPtr left = parse_math2();
  int chain = 0;
  while (at_op("~")) {
    chain_step(chain);
    const Token& at = next();
    left = binary("~", std::move(left), parse_math2(), at);
  }
  return left;
}

ExprPtr ParserBase::parse_math2() {
  ExprPtr left = parse_pow();
  int chain = 0;
  while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
    chain_step(chain);
    const Token& at = next();
    left = binary(at.value, std::move(left), parse_pow(), at);
  }
  return left;
}

ExprPtr ParserBase::parse_pow() {
  ExprPtr left = parse_unary();
  int chain = 0;
  while (at_op("**")) {
    chain_step(chain);
    const Token& at = next();
    left = binary("**", std::move(left), parse_unary(), at);
  }
  return left;
}

ExprPtr ParserBase::parse_unary(bool with_filter) {
  DepthGuard guard(*this, peek());
  ExprPtr e;
  if (at_op("-") || at_op("+")) {
    const Token& at = next();
    e = node(at.value == "-" ? Expr::Kind::negate : Expr::Kind::plus, at);
    e->args.push_back(parse_unary(false));
  } else {
    e = parse_postfix(parse_primary());
  }
  if (with_filter) e = parse_filter_expr(std::move(e));
  return e;
}

ExprPtr ParserBase::parse_primary() {
  const Token& t = next();
  switch (t.type) {
    case TokenType::name: {
      auto e = node(Expr::Kind::literal, t);
      if (t.value == "true" || t.value == "True") {
        e->value = Value(true);
      } else if (t.value == "false" || t.value == "False") {
        e->value = Value(false);
      } else if (t.value == "none" || t.value == "None") {
        e->value = Value::none();
      } else {
        e->kind = Expr::Kind::name;
        e->name = t.value;
      }
      return e;
    }
    case TokenType::string: {
      std::string s = t.value;
      while (peek().type == TokenType::string) s += next().value;  // adjacent literals join
      auto e = node(Expr::Kind::literal, t);
      e->value = Value(std::move(s));
      return e;
    }
    case TokenType::integer: {
      auto e = node(Expr::Kind::literal, t);
      std::int64_t v = 0;
      auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
      if (res.ec != std::errc()) fail("integer literal out of range", t);
      e->value = Value(v);
      return e;
    }
    case TokenType::floating: {
      auto e = node(Expr::Kind::literal, t);
      e->value = Value(std::strtod(t.value.c_str(), nullptr));
      return e;
    }
    case TokenType::op:
      if (t.value == "(") {
        if (accept_op(")")) return node(Expr::Kind::tuple, t);
        ExprPtr inner = parse_expression();
        if (!at_op(",")) {
          expect_op(")");
          return inner;
        }
        auto tuple = node(Expr::Kind::tuple, t);
        tuple->args.push_back(std::move(inner));
        while (accept_op(",")) {
          if (at_op(")")) break;
          tuple->args.push_back(parse_expression());
        }
        expect_op(")");
        return tuple;
      }
      if (t.value == "[") {
        auto list = node(Expr::Kind::list, t);
        while (!accept_op("]")) {
          if (!list->args.empty()) expect_op(",");
          if (accept_op("]")) break;
          list->args.push_back(parse_expression());
        }
        return list;
      }
      if (t.value == "{") {
        auto dict = node(Expr::Kind::dict, t);
        while (!accept_op("}")) {
          if (!dict->args.empty()) expect_op(",");
          if (accept_op("}")) break;
          dict->args.push_back(parse_expression());
          expect_op(":");
          dict->args.push_back(parse_expression());
        }
        return dict;
      }
      break;
    default: break;
  }
  fail("expected an expression, got " + describe(t), t);
}

void ParserBase::parse_call_args(Expr& call) {
  // '(' already consumed
  bool first = true;
  while (!accept_op(")")) {
    if (!first) {
      expect_op(",");
      if (accept_op(")")) break;
    }
    first = false;
    if (peek().type == TokenType::name && at_op("=", 1)) {
      std::string key = next().value;
      next();
      call.kwargs.emplace_back(std::move(key), parse_expression());
    } else {
      if (!call.kwargs.empty()) fail("positional argument after keyword argument", peek());
      call.args.push_back(parse_expression());
    }
  }
}

ExprPtr ParserBase::parse_postfix(ExprPtr e) {
  int chain = 0;
  while (true) {
    chain_step(chain);
    if (at_op(".")) {
      const Token& at = next();
      const Token& t = next();
      if (t.type == TokenType::name) {
        auto a = node(Expr::Kind::attribute, at);
        a->name = t.value;
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (t.type == TokenType::integer) {
        auto s = node(Expr::Kind::subscript, at);
        auto index = node(Expr::Kind::literal, t);
        index->value = Value(static_cast<std::int64_t>(std::strtoll(t.value.c_str(), nullptr, 10)));
        s->args.push_back(std::move(e));
        s->args.push_back(std::move(index));
        e = std::move(s);
      } else {
        fail("expected an attribute name after '.'", t);
      }
    } else if (at_op("[")) {
      const Token& at = next();
      auto s = node(Expr::Kind::subscript, at);
      s->args.push_back(std::move(e));
      s->args.push_back(parse_subscript(at));
      expect_op("]");
      e = std::move(s);
    } else if (at_op("(")) {
      const Token& at = next();
      auto c = node(Expr::Kind::call, at);
      c->args.push_back(std::move(e));
      parse_call_args(*c);
      e = std::move(c);
    } else {
      return e;
    }
  }
}

ExprPtr ParserBase::parse_subscript(const Token& at) {
  ExprPtr parts[3];
  bool is_slice = false;
  if (!at_op(":")) parts[0] = parse_expression();
  if (accept_op(":")) {
    is_slice = true;
    if (!at_op("]") && !at_op(":")) parts[1] = parse_expression();
    if (accept_op(":") && !at_op("]")) parts[2] = parse_expression();
  }
  if (!is_slice) return std::move(parts[0]);
  auto s = node(Expr::Kind::slice, at);
  for (auto& p : parts) s->args.push_back(std::move(p));
  return s;
}

ExprPtr ParserBase::parse_filter(ExprPtr input) {
  const Token& at = peek();
  auto f = node(Expr::Kind::filter, at);
  f->name = expect_name();
  if (!has_filter(f->name)) fail("unsupported filter '" + f->name + "'", at);
  f->args.push_back(std::move(input));
  if (accept_op("(")) parse_call_args(*f);
  return f;
}

ExprPtr ParserBase::parse_filter_expr(ExprPtr e) {
  int chain = 0;
  while (true) {
    chain_step(chain);
    if (accept_op("|")) {
      e = parse_filter(std::move(e));
    } else if (at_name("is")) {
      const Token& at = next();
      auto t = node(Expr::Kind::test, at);
      t->negated = accept_name("not");
      const Token& name = peek();
      t->name = expect_name();
      if (!has_test(t->name)) fail("unsupported test '" + t->name + "'", name);
      t->args.push_back(std::move(e));
      if (accept_op("(")) {
        parse_call_args(*t);
      } else {
        const Token& p = peek();
        bool arg_follows = p.type == TokenType::string || p.type == TokenType::integer ||
                           p.type == TokenType::floating || at_op("[") || at_op("{") ||
                           (p.type == TokenType::name && p.value != "else" && p.value != "or" && p.value != "and" &&
                            p.value != "is" && p.value != "if" && p.value != "in" && p.value != "not");
        if (arg_follows) t->args.push_back(parse_postfix(parse_primary()));
      }
      e = std::move(t);
    } else if (at_op("(")) {
      const Token& at = next();
      auto c = node(Expr::Kind::call, at);
      c->args.push_back(std::move(e));
      parse_call_args(*c);
      e = std::move(c);
    } else {
      return e;
    }
  }
}

}  // namespace tessera::runtime::jinja
