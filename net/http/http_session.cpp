// The reading half of a connection: requests parsed from a buffer the socket fills, handed to
// the handler one at a time; and the Responder that brings the handler's answer back.
#include "net/http/http_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdio>
#include <cstring>
#include <exception>

namespace tessera::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

class SessionResponder final : public Responder {
 public:
  SessionResponder(std::weak_ptr<HttpSession> session, std::uint64_t request)
      : session_(std::move(session)), request_(request) {}

  using Responder::respond;
  void respond(unsigned status, std::string content_type, std::string body,
               HttpHeaders headers) override {
    on_strand([status, content_type = std::move(content_type), body = std::move(body),
               headers = std::move(headers)](HttpSession& s, std::uint64_t request) mutable {
      s.respond(request, status, std::move(content_type), std::move(body), std::move(headers));
    });
  }
  void start_stream(unsigned status, std::string content_type) override {
    on_strand([status, content_type = std::move(content_type)](HttpSession& s,
                                                                std::uint64_t request) mutable {
      s.start_stream(request, status, std::move(content_type));
    });
  }
  void send(std::string data) override {
    on_strand([data = std::move(data)](HttpSession& s, std::uint64_t request) mutable {
      s.send(request, std::move(data));
    });
  }
  void finish() override {
    on_strand([](HttpSession& s, std::uint64_t request) { s.finish(request); });
  }
  void on_disconnect(std::function<void()> callback) override {
    if (session_.expired()) {
      if (callback) callback();
      return;
    }
    on_strand([callback = std::move(callback)](HttpSession& s, std::uint64_t request) mutable {
      s.set_disconnect_callback(request, std::move(callback));
    });
  }

 private:
  template <class Work>
  void on_strand(Work work) {
    auto session = session_.lock();
    if (!session) return;
    asio::dispatch(session->executor(),
                   [session, request = request_, work = std::move(work)]() mutable {
                     work(*session, request);
                   });
  }
  std::weak_ptr<HttpSession> session_;
  std::uint64_t request_;
};

}  // namespace

HttpSession::HttpSession(tcp::socket socket, std::shared_ptr<const SessionConfig> config,
                         std::function<void(HttpSession*)> on_closed)
    : socket_(std::move(socket)),
      config_(std::move(config)),
      options_(config_->options),
      on_closed_(std::move(on_closed)),
      read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()) {}

void HttpSession::start() {
  asio::dispatch(executor(), [self = shared_from_this()] { self->wait_for_request(); });
}

void HttpSession::close_soon() {
  asio::post(executor(), [self = shared_from_this()] { self->close(); });
}

// Between requests: the client has read_timeout to send the next one whole (a keep-alive
// connection waits that long too), and it may already be in the buffer.
void HttpSession::wait_for_request() {
  arm_read_deadline();
  parse_buffered();
}

void HttpSession::arm_read_deadline() {
  read_timer_.expires_after(options_.read_timeout);
  read_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    // A cancelled wait may have been queued already: the expiry tells whether it still holds.
    if (ec || self->closed_ || self->in_request_) return;
    if (self->read_timer_.expiry() > std::chrono::steady_clock::now()) return;
    self->close();  // too slow (or, draining before a close, done)
  });
}

// One read at a time, into a fixed chunk that is then appended to the buffer: the buffer may be
// consumed while a read is pending. While a request is answered, reading goes on (it is how a
// client that goes away is noticed) until the buffer holds max_pipelined_bytes.
void HttpSession::read_more() {
  if (reading_ || closed_ || end_of_input_) return;
  if (in_request_ && !closing_ && buffer_.size() >= options_.max_pipelined_bytes) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(read_chunk_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void HttpSession::on_read(beast::error_code ec, std::size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (closing_) {  // draining: what still comes is dropped
    if (ec) {
      close();
    } else {
      read_more();
    }
    return;
  }
  if (bytes > 0) {
    const auto space = buffer_.prepare(bytes);
    std::memcpy(space.data(), read_chunk_.data(), bytes);
    buffer_.commit(bytes);
  }
  if (ec == asio::error::eof) {
    end_of_input_ = true;
  } else if (ec) {
    close();  // reset, or the socket was closed
    return;
  }
  if (in_request_) {
    if (end_of_input_) on_end_of_input_during_request();
    read_more();
    return;
  }
  parse_buffered();
}

// Feeds buffered bytes to the parser until a request is complete (and dispatched) or more bytes
// are needed; then reads on.
void HttpSession::parse_buffered() {
  while (!closed_ && !closing_ && !in_request_) {
    if (!parser_) {
      // RFC 9112 section 2.2: empty lines before a request line (a CRLF after a POST body) are
      // ignored. They are consumed as they come, so that no number of them is buffered.
      const auto* bytes = static_cast<const char*>(buffer_.data().data());
      std::size_t blank = 0;
      while (blank < buffer_.size() && (bytes[blank] == '\r' || bytes[blank] == '\n')) ++blank;
      buffer_.consume(blank);
      if (buffer_.size() == 0) break;
      parser_.emplace();
      parser_->body_limit(options_.max_body_bytes);
      header_seen_ = false;
    }
    beast::error_code ec;
    const auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) {
      refuse(ec);
      return;
    }
    if (parser_->is_header_done() && !header_seen_) {
      header_seen_ = true;
      on_header();
    }
    if (parser_->is_done()) {
      dispatch();
    } else if (used == 0) {
      break;
    }
  }
  if (closed_ || closing_) return;
  if (!in_request_ && end_of_input_) {
    end_of_input();
    return;
  }
  read_more();
}

void HttpSession::on_header() {
  const auto& header = parser_->get();
  // The client waits for this before it sends the body (RFC 9110 section 10.1.1). A body that is
  // too large by its Content-Length never gets here: the parser refuses it at once (413).
  if (header.version() >= 11 && !parser_->is_done() &&
      beast::iequals(header[http::field::expect], "100-continue")) {
    enqueue(continue_response());
  }
}

void HttpSession::refuse(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    reply_and_close(413, "the request body exceeds the server's limit of " +
                             std::to_string(options_.max_body_bytes) + " bytes");
  } else {
    reply_and_close(400, "malformed HTTP request: " + ec.message());
  }
}

// The client sends no more, and no whole request is left in the buffer.
void HttpSession::end_of_input() {
  if (parser_) {  // a request cut off: a half-closed client can still read why
    beast::error_code ec;
    parser_->put_eof(ec);
    refuse(ec ? ec : beast::error_code(http::error::partial_message));
    return;
  }
  close();
}

// The client has half-closed its side, or gone: at the TCP level the two look alike (an end of
// input) until the server writes. A half-closed client still reads, and gets its whole answer;
// a client that has gone answers the next bytes it is sent with a reset, which ends the
// connection and so cancels the request (its disconnect callback). So the answer is always
// written, and if nothing of it has been yet, an interim "100 Continue" (which HTTP/1.1 clients
// skip, RFC 9110 section 15.2) is written now to find out at once. HTTP/1.0 clients may not be
// sent 1xx: a gone one is noticed when the answer is written. No more requests are read.
void HttpSession::on_end_of_input_during_request() {
  if (!watching_for_reset_) {
    watching_for_reset_ = true;
    socket_.async_wait(tcp::socket::wait_error, [self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->closed_) self->close();  // the reset
    });
  }
  if (version_ >= 11 && !response_started_) enqueue(continue_response());
}

void HttpSession::dispatch() {
  HttpRequest request = parser_->release();
  parser_.reset();
  read_timer_.cancel();
  ++request_number_;
  in_request_ = true;
  version_ = request.version() >= 11 ? 11 : 10;
  head_ = request.method() == http::verb::head;
  keep_alive_ = request.keep_alive();
  response_started_ = streaming_ = response_ended_ = false;
  cors_headers_.clear();

  if (auto answer = config_->cors.preflight(request)) {  // before the handler: no credentials
    respond(request_number_, answer->status, std::move(answer->content_type),
            std::move(answer->body), std::move(answer->headers));
    return;
  }
  cors_headers_ = config_->cors.response_headers(request);
  const auto number = request_number_;
  auto responder = std::make_shared<SessionResponder>(weak_from_this(), number);
  try {
    config_->handler(std::move(request), std::move(responder));
  } catch (const std::exception& e) {
    handler_failed(number, e.what());
  } catch (...) {
    handler_failed(number, "an exception that is not a std::exception");
  }
  // A request pipelined before the client's end of input: whether it is still there to read the
  // answer is found out as for any other.
  if (end_of_input_ && is_current(number)) on_end_of_input_during_request();
}

// The last line of defence: the handler should have answered errors itself.
void HttpSession::handler_failed(std::uint64_t request, const char* what) {
  std::fprintf(stderr, "tessera: the request handler failed: %s\n", what);
  if (!is_current(request)) return;
  if (!response_started_) {
    respond(request, 500, "application/json",
            error_json(500, std::string("the server failed to handle the request: ") + what), {});
  } else {
    close();  // a stream cut short must not look complete
  }
}

void HttpSession::set_disconnect_callback(std::uint64_t request, std::function<void()> callback) {
  if (request != request_number_) return;
  if (closed_) {
    if (callback) callback();  // gone before the callback was set
    return;
  }
  if (in_request_) disconnect_callback_ = std::move(callback);
}

}  // namespace tessera::net
