#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::app {

// Parses "1,17,300" into ids, each in [0, vocab_size). Throws Error(invalid_argument) naming
// `flag` and the offending item.
std::vector<std::int32_t> parse_token_id_list(const std::string& text, const std::string& flag,
                                              std::int64_t vocab_size);

}  // namespace tessera::app
