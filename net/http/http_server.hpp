#pragma once
// An asynchronous HTTP/1.1 server on Boost.Beast: a few I/O threads hold any number of
// connections, because no connection ever owns a thread. A request is handed to the handler with
// a Responder, which answers it from any thread, at once or later, in one piece or as a stream of
// chunks (Server-Sent Events). The Responder also says when the client goes away, so that work
// done for it can stop.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tessera::net {

// Header fields a handler adds to its response (Allow, WWW-Authenticate, Retry-After, ...).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;  // 0: any free port (see HttpServer::port)
  int io_threads = 2;
  std::size_t max_body_bytes = 8u << 20;
  // A client has this long to send a whole request, and each write to it must finish within
  // write_timeout; a client that stalls longer is disconnected.
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  // Stream data waiting for a client that does not read is capped; past it the client is
  // dropped rather than letting the server's memory grow.
  std::size_t max_pending_stream_bytes = 4u << 20;
  // Pipelined requests that arrive while one is answered wait in a buffer of about this size;
  // past it the server stops reading until the answer is out, and TCP holds the client back.
  std::size_t max_pipelined_bytes = 64u << 10;
  // Web origins (scheme://host[:port], or * for any) whose pages may call the server from a
  // browser: preflight OPTIONS requests are answered by the server itself, before the handler,
  // and answers to these origins carry Access-Control-Allow-Origin. Empty: no CORS at all.
  std::vector<std::string> allowed_origins;
};

// Answers one request. Every method is thread-safe and does nothing once the connection is gone.
// The server frames what it is given for the request: a HEAD request (handed to the handler as
// HEAD, to be answered like GET) gets the header only, with the Content-Length the body would
// have had; a stream answered to HEAD is complete with its header. An HTTP/1.0 client gets a
// stream unchunked, ended by closing the connection.
class Responder {
 public:
  virtual ~Responder() = default;
  // The whole response at once, with any extra header fields.
  virtual void respond(unsigned status, std::string content_type, std::string body,
                       HttpHeaders headers) = 0;
  void respond(unsigned status, std::string content_type, std::string body) {
    respond(status, std::move(content_type), std::move(body), {});
  }
  // Starts a chunked response; follow with send() calls and one finish().
  virtual void start_stream(unsigned status, std::string content_type) = 0;
  virtual void send(std::string data) = 0;
  virtual void finish() = 0;
  // Called once, on an I/O thread, if the response can no longer be delivered: the client
  // disconnected or was dropped before it was complete, or (HEAD) it was complete before the work
  // was. Set it before the work starts; a client that is already gone calls it at once.
  virtual void on_disconnect(std::function<void()> callback) = 0;
};

// Called on an I/O thread, one request of a connection at a time (pipelined requests wait for
// the answer before theirs). An exception it lets escape is answered with a 500 for that request
// alone (or, once a stream has begun, ends the connection, so the client sees it cut short).
using HttpHandler = std::function<void(HttpRequest&&, std::shared_ptr<Responder>)>;

class HttpServer {
 public:
  // Binds and listens; throws tessera::Error naming the address when that fails.
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;  // the bound port (the real one when options.port was 0)
  std::size_t open_connections() const;

  // Closes the listening socket; connections already open go on.
  void stop_accepting();
  // Closes every connection and joins the I/O threads. Idempotent.
  void stop();

  struct State;  // shared with the connections, which may outlive a stop() by a moment

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tessera::net
