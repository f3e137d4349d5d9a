#pragma once
// How much work one chat-template render may do. Templates come from downloaded model folders
// and messages from HTTP clients, so a hostile or runaway template must fail its one render with
// Error(chat_template) naming the limit, instead of hanging the server or exhausting its memory.
// The defaults are far above what real templates need: rendering every golden template
// (tests/data/chat) with its largest conversation uses well under 1% of each.
#include <cstddef>
#include <cstdint>

namespace tessera::runtime {

struct RenderLimits {
  // Evaluated expressions and statements, loop iterations, and bulk work on values (one step
  // per 256 bytes scanned or built, one per element compared or hashed), so that neither many
  // cheap steps nor a few huge ones run long. 10M steps take about a second.
  std::uint64_t max_steps = 10'000'000;
  // Nested evaluations while rendering (expression depth, nested blocks, macro calls). Each
  // level is a few C++ stack frames: raising this much risks overflowing the thread's stack.
  int max_depth = 250;
  // Nesting in the template source (brackets, blocks, unary operators), which the parser
  // follows recursively; the same stack caveat applies.
  int max_source_nesting = 150;
  std::size_t max_output_bytes = 32u << 20;  // the rendered text, and any block captured by set/macro
  std::size_t max_string_bytes = 16u << 20;  // any one string built (4x a 1M-token prompt)
  std::size_t max_list_length = 1'000'000;   // items in any one list, tuple or dict built
  std::int64_t max_range_length = 100'000;   // items one range() may produce (jinja2's sandbox limit)
  // Memory held at once by the strings, lists and dicts the render created (the messages and
  // other variables passed in are not counted).
  std::size_t max_value_bytes = 256u << 20;
};

}  // namespace tessera::runtime
