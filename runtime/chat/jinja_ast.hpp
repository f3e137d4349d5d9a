#pragma once
// The parsed template: expressions and statements as plain trees. One node type per category
// keeps the interpreter a pair of switch statements.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/chat/jinja_value.hpp"

namespace tessera::runtime::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    literal,      // value
    name,         // name
    list,         // args
    tuple,        // args
    dict,         // args: key, value, key, value...
    attribute,    // args[0].name
    subscript,    // args[0][args[1]]
    slice,        // args: start, stop, step (each may be null)
    call,         // args[0](args[1..], kwargs)
    filter,       // args[0] | name(args[1..], kwargs)
    test,         // args[0] is [not] name(args[1..], kwargs)
    negate,       // -args[0]
    plus,         // +args[0]
    binary,       // args[0] name args[1] for + - * / // % ** ~
    compare,      // args[0] ops[0] args[1] ops[1] args[2]...
    conditional,  // args[0] if args[1] else args[2] (may be null)
    logical_and,
    logical_or,
    logical_not,
  };
  Kind kind;
  int line = 0;
  int column = 0;
  Value value;
  std::string name;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// Where `for` and `set` store values: names (several for tuple unpacking) or `ns.attr`.
struct Target {
  std::vector<std::string> names;
  std::string attribute;  // non-empty: names[0].attribute
};

struct Stmt {
  enum class Kind { text, output, if_, for_, set, set_block, macro, call_block, break_, continue_, filter_block, body };
  Kind kind;
  int line = 0;
  int column = 0;
  std::string text;                 // text
  ExprPtr expr;                     // output, set value, for iterable, call_block call, filter_block chain
  std::vector<ExprPtr> conditions;  // if: one per branch (null for else); for: optional filter
  std::vector<Body> bodies;         // if: one per branch; for: body and else; others: body
  Target target;                    // for, set, set_block; macro: name in names[0]
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro and call_block caller parameters
};

// Name the filter-block body is bound to; a space makes it unspellable in templates.
inline constexpr const char* kFilterBodyName = " body";

}  // namespace tessera::runtime::jinja
