#pragma once
#include <string_view>

#include "runtime/chat/jinja_ast.hpp"

namespace tessera::runtime::jinja {

// Parses template source; throws Error(chat_template) naming the line and column of the first
// syntax error or unsupported construct.
Body parse_template(std::string_view source);

}  // namespace tessera::runtime::jinja
