#pragma once
#include <string_view>

#include "runtime/chat/jinja_ast.hpp"

namespace tessera::runtime::jinja {

// Parses template source; throws Error(chat_template) naming the line and column of the first
// syntax error or unsupported construct. Nesting deeper than max_nesting (brackets, blocks,
// unary operators; RenderLimits::max_source_nesting) is refused before it can exhaust the stack.
Body parse_template(std::string_view source, int max_nesting);

}  // namespace tessera::runtime::jinja
