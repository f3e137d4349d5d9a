#pragma once
// The one exception type library code throws. The category says which kind of input or
// component failed so callers (CLI exit codes, HTTP status codes) can react without parsing text.
#include <stdexcept>
#include <string>
#include <string_view>

namespace tessera {

enum class ErrorCategory {
  invalid_argument,  // a flag, an API argument or a request field
  config,            // config.json, generation_config.json, tokenizer_config.json
  checkpoint,        // safetensors files and their index
  tokenizer,         // tokenizer.json and text that cannot be encoded or decoded
  chat_template,     // parsing or rendering a chat template
  io,                // a file that cannot be opened, mapped or read
  unsupported,       // valid input that tessera does not implement
  internal,          // a broken invariant: a bug in tessera
};

std::string_view to_string(ErrorCategory category);

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message)
      : std::runtime_error(message), category_(category) {}
  ErrorCategory category() const noexcept { return category_; }

 private:
  ErrorCategory category_;
};

}  // namespace tessera
