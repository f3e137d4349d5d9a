#include "runtime/core/error.hpp"

namespace tessera {

std::string_view to_string(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::invalid_argument: return "invalid_argument";
    case ErrorCategory::config: return "config";
    case ErrorCategory::checkpoint: return "checkpoint";
    case ErrorCategory::tokenizer: return "tokenizer";
    case ErrorCategory::chat_template: return "chat_template";
    case ErrorCategory::io: return "io";
    case ErrorCategory::unsupported: return "unsupported";
    case ErrorCategory::unavailable: return "unavailable";
    case ErrorCategory::internal: return "internal";
  }
  return "unknown";
}

}  // namespace tessera
