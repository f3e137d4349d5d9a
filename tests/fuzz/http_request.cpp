// The HTTP request parser as the server runs it (net/http/http_server.cpp: a Beast
// request_parser<string_body> per request with the server's body limit, reading from one
// flat_buffer that carries pipelined bytes over to the next request), then the answer the server
// would write for what was parsed: an error body naming the path and method, serialized.
//
// Input: one byte that sets how the bytes arrive (segments of 1 to 255 bytes, or all at once
// for 0), then the bytes a client sends on one connection: any number of requests.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <cstring>
#include <string>

#include "net/http/http_server.hpp"
#include "net/http/http_text.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// The client's bytes, arriving in segments as a socket read would return them.
class Connection {
 public:
  Connection(const std::uint8_t* data, std::size_t size, std::size_t segment)
      : data_(data), size_(size), segment_(segment == 0 ? size : segment) {}

  // Appends the next segment to `buffer`; false once the client has sent everything.
  bool receive(beast::flat_buffer& buffer) {
    const std::size_t n = std::min(segment_, size_ - sent_);
    if (n == 0) return false;
    std::memcpy(buffer.prepare(n).data(), data_ + sent_, n);
    buffer.commit(n);
    sent_ += n;
    return true;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_, sent_ = 0, segment_;
};

// Reads one request as http::async_read does: false when the connection ends or fails, after
// writing the server's error answer for a malformed request.
bool read_request(Connection& connection, beast::flat_buffer& buffer, tessera::net::HttpRequest& out) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(tessera::net::HttpServerOptions{}.max_body_bytes);
  beast::error_code ec;
  while (!parser.is_done()) {
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec && ec != http::error::need_more) break;
      if (parser.is_done() || (!ec && used > 0)) continue;
      ec = {};  // the parser needs more than the buffer holds
    }
    if (connection.receive(buffer)) continue;
    if (!parser.got_some()) return false;  // a clean end between requests
    parser.put_eof(ec);
    if (!ec && !parser.is_done()) ec = http::error::partial_message;
    break;
  }
  if (ec) {
    (void)tessera::net::serialize_response(
        400, "application/json", tessera::net::error_json(400, "malformed HTTP request: " + ec.message()),
        tessera::net::ResponseFraming{});
    return false;
  }
  out = parser.release();
  return true;
}

// What OpenAiService reads of every request before routing it, and an answer that echoes it.
void answer(const tessera::net::HttpRequest& request) {
  const std::string target(request.target());
  const std::string path = target.substr(0, target.find('?'));
  const auto authorization = request.find(http::field::authorization);
  std::string message = "no route for " + path + " (" + std::string(request.method_string()) + ")";
  if (authorization != request.end()) message += std::string(authorization->value());
  const std::string body = tessera::net::error_json(404, message, path, "", "not_found");
  const tessera::net::ResponseFraming framing{request.version() == 10 ? 10u : 11u,
                                              request.keep_alive() ? 5 : 0,
                                              request.method() == http::verb::head};
  (void)tessera::net::serialize_response(404, "application/json", body, framing,
                                         {{"Allow", std::string(request.method_string())}});
  (void)tessera::net::frame_chunk(request.body());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Connection connection(data + 1, size - 1, data[0]);
  beast::flat_buffer buffer;
  tessera::net::HttpRequest request;
  while (read_request(connection, buffer, request)) {
    answer(request);
    if (!request.keep_alive()) break;  // the server closes after answering
  }
  return 0;
}
