#pragma once
// The bytes the server writes: responses serialised by Beast, chunked-transfer framing for
// streams, and the JSON error body every error response carries (the OpenAI API's shape, which
// generic clients read as well).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::net {

// `keep_alive_seconds` > 0 keeps the connection open and tells the client, in a Keep-Alive
// header, how long the server waits for its next request (clients such as Node's then retire the
// connection in time instead of racing the server's close); 0 closes it.
// `headers` are added as given (name, value).
std::string serialize_response(unsigned status, std::string_view content_type, std::string body,
                               int keep_alive_seconds,
                               const std::vector<std::pair<std::string, std::string>>& headers = {});
// The header of a chunked response; the body follows as frame_chunk() pieces and last_chunk().
std::string serialize_stream_header(unsigned status, std::string_view content_type,
                                    int keep_alive_seconds);
std::string frame_chunk(std::string_view data);
std::string last_chunk();

// {"error": {"message", "type", "param", "code"}}; `type` follows from the status
// (invalid_request_error for 4xx, server_error for 5xx) unless given.
std::string error_json(unsigned status, std::string_view message, std::string_view param = {},
                       std::string_view type = {}, std::string_view code = {});

}  // namespace tessera::net
