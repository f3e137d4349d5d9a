#pragma once
// Parsing JSON that comes from outside (HTTP bodies, config and tokenizer files, CLI inputs).
// Nesting is bounded where the text is parsed: nlohmann parses iteratively, but copying, dumping
// and comparing a value recurse, so a document nested 300,000 deep would overflow the stack
// later, far from where it entered. Every failure, including a number that overflows a double,
// is a tessera::Error that names `what`.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "runtime/core/error.hpp"

namespace tessera {

// Deep enough for any real config, tokenizer or request (tool schemas included); far below what
// recursion over a value can survive.
inline constexpr int kMaxJsonDepth = 128;

// `what` names the input in the message ("config.json", "the request body").
nlohmann::json parse_json(std::string_view text, const std::string& what, ErrorCategory category,
                          int max_depth = kMaxJsonDepth);
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what,
                                          ErrorCategory category, int max_depth = kMaxJsonDepth);

}  // namespace tessera
