#include "net/http/cors.hpp"

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <cctype>

#include "net/http/http_text.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

namespace http = boost::beast::http;

// Browsers cache a preflight's answer for this long (Chromium caps it at two hours).
constexpr const char* kPreflightMaxAgeSeconds = "600";
constexpr const char* kAllowedMethods = "GET, HEAD, POST, OPTIONS";

std::string_view view(boost::beast::string_view text) { return {text.data(), text.size()}; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  });
}

bool is_host(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {  // an IPv6 literal
    return std::all_of(s.begin() + 1, s.end() - 1,
                       [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
  }
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  if (!std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  return std::stoi(std::string(s)) <= 65535;
}

}  // namespace

std::optional<std::string> normalize_origin(std::string_view text) {
  const auto separator = text.find("://");
  if (separator == std::string_view::npos) return std::nullopt;
  const auto scheme = text.substr(0, separator);
  auto authority = text.substr(separator + 3);
  std::string_view port;
  // The port follows the last colon, unless that colon is inside an IPv6 literal.
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
    if (!is_port(port)) return std::nullopt;
  }
  if (!is_scheme(scheme) || !is_host(authority)) return std::nullopt;
  std::string origin = lower(scheme) + "://" + lower(authority);
  if (!port.empty()) origin += ":" + std::string(port);
  return origin;
}

CorsPolicy::CorsPolicy(const std::vector<std::string>& allowed_origins) {
  for (const auto& value : allowed_origins) {
    if (value == "*") {
      any_ = true;
      continue;
    }
    auto origin = normalize_origin(value);
    if (!origin) {
      throw Error(ErrorCategory::invalid_argument,
                  "--allowed-origins: '" + value +
                      "' is not an origin: give scheme://host[:port] (no path), or * for any");
    }
    origins_.push_back(std::move(*origin));
  }
}

std::optional<std::string> CorsPolicy::allow_origin(std::string_view origin) const {
  if (any_) return std::string("*");
  const auto normalized = normalize_origin(origin);
  if (!normalized) return std::nullopt;
  if (std::find(origins_.begin(), origins_.end(), *normalized) == origins_.end()) {
    return std::nullopt;
  }
  return std::string(origin);
}

std::optional<CorsPreflightAnswer> CorsPolicy::preflight(const HttpRequest& request) const {
  if (!enabled() || request.method() != http::verb::options) return std::nullopt;
  const auto origin = request.find(http::field::origin);
  const auto method = request.find(http::field::access_control_request_method);
  if (origin == request.end() || method == request.end()) return std::nullopt;

  const auto allowed = allow_origin(view(origin->value()));
  if (!allowed) {
    return CorsPreflightAnswer{403, "application/json",
                               error_json(403, "the origin '" + std::string(origin->value()) +
                                                   "' is not allowed (see --allowed-origins)"),
                               {}};
  }
  HttpHeaders headers = {
      {"Access-Control-Allow-Origin", *allowed},
      {"Access-Control-Allow-Methods", kAllowedMethods},
      {"Access-Control-Max-Age", kPreflightMaxAgeSeconds},
      {"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
  };
  // Whatever headers the page means to send (Authorization, Content-Type, the OpenAI SDK's
  // X-Stainless-*): the API reads only the ones it knows, so any may come.
  const auto wanted = request.find(http::field::access_control_request_headers);
  if (wanted != request.end() && !wanted->value().empty()) {
    headers.emplace_back("Access-Control-Allow-Headers", std::string(wanted->value()));
  }
  return CorsPreflightAnswer{204, "", "", std::move(headers)};
}

HttpHeaders CorsPolicy::response_headers(const HttpRequest& request) const {
  if (!enabled()) return {};
  HttpHeaders headers = {{"Vary", "Origin"}};
  const auto origin = request.find(http::field::origin);
  if (origin == request.end()) return headers;
  if (auto allowed = allow_origin(view(origin->value()))) {
    headers.emplace_back("Access-Control-Allow-Origin", std::move(*allowed));
    // Without this a page's script sees only the safelisted response headers, not when to
    // retry after a 429 or 503, nor how to authenticate after a 401.
    headers.emplace_back("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate");
  }
  return headers;
}

}  // namespace tessera::net
