#pragma once
// Which HTTP status each kind of failure gets, in one place: the service reads a failure's
// category and field, never its text.
#include "net/openai/api_error.hpp"
#include "runtime/core/failure.hpp"

namespace tessera::net {

// 400: the request is at fault (a field, text the tokenizer cannot take, a conversation the
// template refuses, something tessera does not do); 503: the server cannot serve now, retry
// (respond_error adds Retry-After); 500: the server is at fault (a model file, a bug).
unsigned http_status(ErrorCategory category);

// The response to a failed request: its category's status, its field as the OpenAI `param`,
// its message as it is.
ApiError api_error(const Failure& failure);

}  // namespace tessera::net
