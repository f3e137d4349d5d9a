#pragma once
// The bytes the server writes: responses serialised by Beast and framed for the request they
// answer (its HTTP version, HEAD, keep-alive), chunked-transfer framing for streams, and the JSON
// error body every error response carries (the OpenAI API's shape, which generic clients read as
// well).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::net {

// How a response is framed for the request it answers.
struct ResponseFraming {
  // The request's HTTP version (10 or 11), which the response repeats: an HTTP/1.0 client then
  // reads "Connection: keep-alive" as it understands it, and is never sent chunks.
  unsigned version = 11;
  // > 0 keeps the connection open and tells the client, in a Keep-Alive header, how long the
  // server waits for its next request (clients such as Node's then retire the connection in time
  // instead of racing the server's close); 0 closes it ("Connection: close").
  int keep_alive_seconds = 0;
  // The answer to HEAD: the header a GET would get, Content-Length included, and no body.
  bool head = false;
};

// `headers` are added as given (name, value).
std::string serialize_response(unsigned status, std::string_view content_type, std::string body,
                               const ResponseFraming& framing,
                               const std::vector<std::pair<std::string, std::string>>& headers = {});
// The header of a streamed response. HTTP/1.1: chunked, the body follows as frame_chunk() pieces
// and last_chunk(). HTTP/1.0 has no chunks (RFC 9112 section 6.1): the body is the data as it
// comes and ends when the connection closes, so `framing` must not keep the connection alive.
std::string serialize_stream_header(unsigned status, std::string_view content_type,
                                    const ResponseFraming& framing,
                                    const std::vector<std::pair<std::string, std::string>>& headers = {});
std::string frame_chunk(std::string_view data);
std::string last_chunk();
// The interim response that invites the body of a request sent with `Expect: 100-continue`.
std::string continue_response();

// {"error": {"message", "type", "param", "code"}}; `type` follows from the status
// (invalid_request_error for 4xx, server_error for 5xx) unless given.
std::string error_json(unsigned status, std::string_view message, std::string_view param = {},
                       std::string_view type = {}, std::string_view code = {});

}  // namespace tessera::net
