#pragma once
// One HTTP/1.x connection of the server (internal to net/http). It reads requests, hands each to
// the handler with a Responder, and writes what the Responder gives it, on the connection's
// strand. Reading never stops while a request is answered, so that the session notices a client
// that goes away; what arrives meanwhile (pipelined requests) waits in a bounded buffer and is
// parsed once the answer is out, so that answers leave in the order of the requests.
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http/cors.hpp"
#include "net/http/http_server.hpp"
#include "net/http/http_text.hpp"

namespace tessera::net {

// What every connection of one server shares.
struct SessionConfig {
  HttpServerOptions options;
  HttpHandler handler;
  CorsPolicy cors;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  using tcp = boost::asio::ip::tcp;

  // `on_closed` runs once, on the strand, when the connection closes.
  HttpSession(tcp::socket socket, std::shared_ptr<const SessionConfig> config,
              std::function<void(HttpSession*)> on_closed);

  void start();
  void close_soon();  // from any thread

  // Called through a Responder, always on the strand. `request` numbers the connection's
  // requests, so that a late call for an earlier request is recognised and ignored.
  void respond(std::uint64_t request, unsigned status, std::string content_type, std::string body,
               HttpHeaders headers);
  void start_stream(std::uint64_t request, unsigned status, std::string content_type);
  void send(std::uint64_t request, std::string data);
  void finish(std::uint64_t request);
  void set_disconnect_callback(std::uint64_t request, std::function<void()> callback);

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

 private:
  // Reading and parsing (http_session.cpp).
  void wait_for_request();
  void read_more();
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void parse_buffered();
  void on_header();
  void refuse(boost::system::error_code ec);
  void end_of_input();
  void on_end_of_input_during_request();
  void dispatch();
  void handler_failed(std::uint64_t request, const char* what);
  void arm_read_deadline();

  // Writing (http_session_write.cpp).
  bool is_current(std::uint64_t request) const;
  bool more_input_buffered() const;
  ResponseFraming framing() const;
  void reply_and_close(unsigned status, const std::string& message);
  void enqueue(std::string bytes);
  void write_next();
  void response_queued();
  void complete_response();
  void close_gracefully();
  void close();

  tcp::socket socket_;
  const std::shared_ptr<const SessionConfig> config_;
  const HttpServerOptions& options_;
  std::function<void(HttpSession*)> on_closed_;

  // Input: bytes read and not yet parsed, and the request being parsed.
  std::array<char, 16 * 1024> read_chunk_{};
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool header_seen_ = false;      // on_header() ran for the request being parsed
  bool reading_ = false;          // a read is pending
  bool end_of_input_ = false;     // the client sends nothing more (it closed or half-closed)
  bool watching_for_reset_ = false;  // ... and a reset would say it is gone
  boost::asio::steady_timer read_timer_;  // a whole request within read_timeout

  // The request being answered.
  std::uint64_t request_number_ = 0;
  bool in_request_ = false;        // dispatched, and its response not yet all written
  unsigned version_ = 11;
  bool head_ = false;
  bool keep_alive_ = true;
  HttpHeaders cors_headers_;
  std::function<void()> disconnect_callback_;
  bool response_started_ = false;  // the response (or its stream header) is queued
  bool streaming_ = false;
  bool response_ended_ = false;    // its last bytes are queued

  // Output.
  std::deque<std::string> outbound_;
  std::size_t pending_bytes_ = 0;
  bool writing_ = false;
  boost::asio::steady_timer write_timer_;

  bool closing_ = false;  // the last response is out; input is drained until close()
  bool closed_ = false;
};

}  // namespace tessera::net
