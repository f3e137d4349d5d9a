#include "net/http/http_text.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tessera::net {
namespace {

namespace http = boost::beast::http;

template <class Body>
void set_common_fields(http::response<Body>& response, std::string_view content_type,
                       const ResponseFraming& framing,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  response.set(http::field::server, "tessera");
  if (!content_type.empty()) {
    response.set(http::field::content_type,
                 boost::beast::string_view(content_type.data(), content_type.size()));
  }
  response.keep_alive(framing.keep_alive_seconds > 0);
  if (framing.keep_alive_seconds > 0) {
    response.set(http::field::keep_alive, "timeout=" + std::to_string(framing.keep_alive_seconds));
  } else {
    response.set(http::field::connection, "close");  // HTTP/1.0 implies it; say it to both
  }
  // A caller's field replaces the server's own, except Vary, whose lists add up.
  for (const auto& [name, value] : headers) {
    const auto existing = response.find(name);
    if (existing != response.end() && boost::beast::iequals(name, "vary")) {
      response.set(name, std::string(existing->value()) + ", " + value);
    } else {
      response.set(name, value);
    }
  }
}

template <class Fields>
std::string header_text(const Fields& header) {
  std::ostringstream out;
  out << header;
  return std::move(out).str();
}

}  // namespace

std::string serialize_response(unsigned status, std::string_view content_type, std::string body,
                               const ResponseFraming& framing,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  http::response<http::string_body> response{static_cast<http::status>(status), framing.version};
  set_common_fields(response, content_type, framing, headers);
  response.body() = std::move(body);
  response.prepare_payload();  // Content-Length (none for 204 and 304)
  if (framing.head) return header_text(response.base());
  return header_text(response);
}

std::string serialize_stream_header(unsigned status, std::string_view content_type,
                                    const ResponseFraming& framing,
                                    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::response<http::empty_body> response{static_cast<http::status>(status), framing.version};
  set_common_fields(response, content_type, framing, headers);
  response.set(http::field::cache_control, "no-cache");
  if (framing.version >= 11) response.chunked(true);
  return header_text(response.base());
}

std::string frame_chunk(std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string framed(size, static_cast<std::size_t>(n));
  framed.append(data);
  framed.append("\r\n");
  return framed;
}

std::string last_chunk() { return "0\r\n\r\n"; }

std::string continue_response() { return "HTTP/1.1 100 Continue\r\n\r\n"; }

std::string error_json(unsigned status, std::string_view message, std::string_view param,
                       std::string_view type, std::string_view code) {
  using Json = nlohmann::ordered_json;
  const auto or_null = [](std::string_view s) { return s.empty() ? Json() : Json(s); };
  const std::string_view default_type = status >= 500 ? "server_error" : "invalid_request_error";
  Json error = {{"message", message},
                          {"type", type.empty() ? default_type : type},
                          {"param", or_null(param)},
                          {"code", or_null(code)}};
  return Json{{"error", std::move(error)}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace tessera::net
