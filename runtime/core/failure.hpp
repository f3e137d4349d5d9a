#pragma once
// An error as plain data: what tessera::Error says (category, field, message), in a form that is
// copied into events and messages, crosses actor and node boundaries, and is thrown again where
// an exception is wanted. A request that fails carries one from where it failed to the client,
// so that no layer ever has to recover the kind of a failure from its text.
#include <exception>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera {

struct Failure {
  ErrorCategory category = ErrorCategory::internal;
  std::string field;    // the request field at fault, when there is one
  std::string message;  // for people; starts with the field when there is one ("max_tokens: ...")

  // The failure the exception being described stands for: an Error keeps its category and
  // field, anything else is internal (only tessera::Error is thrown on purpose).
  static Failure of(const std::exception& e);

  Error error() const { return Error(category, field, message); }

  // The same failure, its message led by `context` ("rank 2: " + message): where it happened.
  Failure within(const std::string& context) const { return {category, field, context + message}; }

  bool operator==(const Failure&) const = default;
};

}  // namespace tessera
