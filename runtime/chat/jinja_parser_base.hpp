#pragma once
// Internal to the parser: token access and expression parsing, shared by the statement parser
// (jinja_parser.cpp); expressions live in jinja_expression_parser.cpp.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/chat/jinja_ast.hpp"
#include "runtime/chat/jinja_lexer.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime::jinja {

class ParserBase {
 public:
  // Deep nesting would overflow the stack of this recursive-descent parser and of the
  // interpreter: max_nesting (RenderLimits::max_source_nesting) bounds it.
  ParserBase(std::vector<Token> tokens, int max_nesting) : tokens_(std::move(tokens)), max_nesting_(max_nesting) {}

 protected:
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  int max_nesting_;

  struct DepthGuard {
    ParserBase& p;
    DepthGuard(ParserBase& parser, const Token& at) : p(parser) {
      if (++p.depth_ > p.max_nesting_) {
        --p.depth_;
        p.fail("template nested too deeply: over the limit of " + std::to_string(p.max_nesting_) +
                   " levels (max_source_nesting)",
               at);
      }
    }
    ~DepthGuard() { --p.depth_; }
  };

  [[noreturn]] void fail(const std::string& what, const Token& at) const {
    throw Error(ErrorCategory::chat_template, "chat template syntax error at line " + std::to_string(at.line) +
                                                  ", column " + std::to_string(at.column) + ": " + what);
  }

  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool at_op(std::string_view op, std::size_t ahead = 0) const {
    return peek(ahead).type == TokenType::op && peek(ahead).value == op;
  }
  bool at_name(std::string_view name, std::size_t ahead = 0) const {
    return peek(ahead).type == TokenType::name && peek(ahead).value == name;
  }
  bool accept_op(std::string_view op) {
    if (!at_op(op)) return false;
    next();
    return true;
  }
  bool accept_name(std::string_view name) {
    if (!at_name(name)) return false;
    next();
    return true;
  }
  void expect_op(std::string_view op) {
    if (!accept_op(op)) fail("expected '" + std::string(op) + "'", peek());
  }
  std::string expect_name() {
    if (peek().type != TokenType::name) fail("expected a name", peek());
    return next().value;
  }
  void expect_block_end() {
    if (peek().type != TokenType::block_end) fail("expected end of statement '%}'", peek());
    next();
  }

  // Operator and postfix chains build trees as deep as they are long; bound them like nesting.
  void chain_step(int& length) const {
    if (++length > max_nesting_)
      fail("expression too long: a chain of over " + std::to_string(max_nesting_) + " operators (max_source_nesting)",
           peek());
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::eof: return "end of template";
      case TokenType::var_end: return "end of print statement '}}'";
      case TokenType::block_end: return "end of statement '%}'";
      case TokenType::text: return "template text";
      default: return "'" + t.value + "'";
    }
  }

  static ExprPtr node(Expr::Kind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }

  // Expressions (jinja_expression_parser.cpp), lowest precedence first.
  ExprPtr parse_tuple_or_expression(bool with_condition = true);
  ExprPtr parse_expression(bool with_condition = true);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr binary(std::string op, ExprPtr l, ExprPtr r, const Token& at);
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter = true);
  ExprPtr parse_primary();
  void parse_call_args(Expr& call);
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_subscript(const Token& at);
  ExprPtr parse_filter(ExprPtr input);
  ExprPtr parse_filter_expr(ExprPtr e);
};

}  // namespace tessera::runtime::jinja
