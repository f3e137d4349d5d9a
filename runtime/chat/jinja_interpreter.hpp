#pragma once
// Walks the parsed template and writes its output. Every failure surfaces as
// tessera::Error(chat_template) naming the template line and column.
#include <string>

#include "runtime/chat/jinja_ast.hpp"
#include "runtime/chat/render_limits.hpp"

namespace tessera::runtime::jinja {

// Renders `body` with `variables` on top of the globals HF provides (raise_exception,
// strftime_now, namespace, range, dict), within `limits`.
std::string render(const Body& body, const Dict& variables, const RenderLimits& limits);

}  // namespace tessera::runtime::jinja
