#include "net/openai/error_status.hpp"

namespace tessera::net {

unsigned http_status(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::invalid_argument:
    case ErrorCategory::tokenizer:      // text that cannot be encoded
    case ErrorCategory::chat_template:  // a conversation the template refuses
    case ErrorCategory::unsupported:
      return 400;
    case ErrorCategory::unavailable:
      return 503;
    case ErrorCategory::config:
    case ErrorCategory::checkpoint:
    case ErrorCategory::io:
    case ErrorCategory::internal:
      return 500;
  }
  return 500;
}

ApiError api_error(const Failure& failure) {
  return ApiError(http_status(failure.category), failure.message, failure.field);
}

}  // namespace tessera::net
