#pragma once
// A request the API refuses: the HTTP status and the OpenAI-style error fields. Thrown while a
// request is read and checked, turned into the response body by the service.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tessera::net {

struct ApiError : std::runtime_error {
  ApiError(unsigned http_status, const std::string& message, std::string field = {},
           std::string error_type = {}, std::string error_code = {})
      : std::runtime_error(message),
        status(http_status),
        param(std::move(field)),
        type(std::move(error_type)),
        code(std::move(error_code)) {}

  unsigned status;
  std::string param;  // the request field at fault, when there is one
  std::string type;   // empty: derived from the status
  std::string code;
  // Header fields the response needs beyond those its status implies (respond_error adds
  // WWW-Authenticate to 401 and Retry-After to 429 and 503 itself), e.g. Allow on a 405.
  std::vector<std::pair<std::string, std::string>> headers;
};

// 400 naming the field: "<field>: <problem>".
inline ApiError bad_field(const std::string& field, const std::string& problem) {
  return ApiError(400, field + ": " + problem, field);
}

}  // namespace tessera::net
