#pragma once
// The one exception type library code throws. The category says which kind of input or
// component failed, and the field (when there is one) which part of the input, so callers (CLI
// exit codes, HTTP status codes and the OpenAI `param`) can react without parsing text.
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace tessera {

enum class ErrorCategory {
  invalid_argument,  // a flag, an API argument or a request field
  config,            // config.json, generation_config.json, tokenizer_config.json
  checkpoint,        // safetensors files and their index
  tokenizer,         // tokenizer.json and text that cannot be encoded or decoded
  chat_template,     // parsing or rendering a chat template
  io,                // a file that cannot be opened, mapped or read
  unsupported,       // valid input that tessera does not implement
  unavailable,       // the server cannot serve now (shut down, a cluster that lost a node): retry
  internal,          // a broken invariant: a bug in tessera (stays last: actors/messages.hpp
                     // checks a category arriving from another node against it)
};

std::string_view to_string(ErrorCategory category);

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message)
      : std::runtime_error(message), category_(category) {}
  // `field`: the flag or request field at fault ("max_tokens", "prompt"); the message still
  // names it too, so that text read alone says what is wrong.
  Error(ErrorCategory category, std::string field, const std::string& message)
      : std::runtime_error(message), category_(category), field_(std::move(field)) {}
  ErrorCategory category() const noexcept { return category_; }
  // Empty when no single field is at fault.
  const std::string& field() const noexcept { return field_; }

 private:
  ErrorCategory category_;
  std::string field_;
};

}  // namespace tessera
