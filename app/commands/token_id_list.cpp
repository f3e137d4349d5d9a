#include "app/commands/token_id_list.hpp"

#include <charconv>

#include "runtime/core/error.hpp"

namespace tessera::app {

std::vector<std::int32_t> parse_token_id_list(const std::string& text, const std::string& flag,
                                              std::int64_t vocab_size) {
  using tessera::Error;
  using tessera::ErrorCategory;
  std::vector<std::int32_t> ids;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    std::int64_t value = -1;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
      throw Error(ErrorCategory::invalid_argument,
                  flag + ": '" + item + "' (item " + std::to_string(ids.size() + 1) +
                      ") is not a token id; expected comma-separated integers like 1,17,300");
    }
    if (value < 0 || value >= vocab_size) {
      throw Error(ErrorCategory::invalid_argument,
                  flag + ": token id " + item + " is outside the model's vocabulary [0, " +
                      std::to_string(vocab_size) + ")");
    }
    ids.push_back(static_cast<std::int32_t>(value));
    start = comma + 1;
  }
  return ids;
}

}  // namespace tessera::app
