#pragma once
// Cross-origin resource sharing: which web pages' scripts may read the server's answers. The
// server applies it itself, so that a browser's preflight (an OPTIONS request that carries no
// credentials) is answered before any route or API key sees it, and so that every answer to an
// allowed page, streamed or whole, error or not, carries the headers a browser needs to read it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/http_server.hpp"

namespace tessera::net {

// The server's own answer to a preflight request.
struct CorsPreflightAnswer {
  unsigned status;
  std::string content_type;
  std::string body;
  HttpHeaders headers;
};

class CorsPolicy {
 public:
  // Each origin is "*" (any) or scheme://host[:port]; none (the default) turns CORS off: no
  // request is treated as a preflight and no response carries CORS headers. Throws
  // tessera::Error naming --allowed-origins and the value that is not an origin.
  explicit CorsPolicy(const std::vector<std::string>& allowed_origins = {});

  bool enabled() const { return any_ || !origins_.empty(); }

  // An answer when `request` is a preflight (OPTIONS with Origin and
  // Access-Control-Request-Method) and CORS is on: 204 with the Access-Control-* fields for an
  // allowed origin, 403 without them for any other. Other requests go to the handler.
  std::optional<CorsPreflightAnswer> preflight(const HttpRequest& request) const;

  // The fields every other response to `request` carries: Access-Control-Allow-Origin when its
  // Origin is allowed, and Vary: Origin whenever CORS is on (the answer depends on the Origin).
  HttpHeaders response_headers(const HttpRequest& request) const;

 private:
  // The Access-Control-Allow-Origin value for `origin`; nullopt when it is not allowed.
  std::optional<std::string> allow_origin(std::string_view origin) const;

  bool any_ = false;
  std::vector<std::string> origins_;  // normalised: scheme and host in lower case
};

// An origin as a browser sends it (RFC 6454): scheme://host[:port], no path, scheme and host in
// lower case. nullopt when `text` is not one.
std::optional<std::string> normalize_origin(std::string_view text);

}  // namespace tessera::net
