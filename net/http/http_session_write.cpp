// The writing half of a connection: a response framed for its request, queued and written in
// order, then the next request or a graceful close.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "net/http/http_session.hpp"

namespace tessera::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

void append(HttpHeaders& to, const HttpHeaders& from) { to.insert(to.end(), from.begin(), from.end()); }

}  // namespace

bool HttpSession::is_current(std::uint64_t request) const {
  return !closed_ && in_request_ && request == request_number_ && !response_ended_;
}

// Bytes that may be a next request (not just empty lines) wait in the buffer.
bool HttpSession::more_input_buffered() const {
  const auto* bytes = static_cast<const char*>(buffer_.data().data());
  return std::any_of(bytes, bytes + buffer_.size(), [](char c) { return c != '\r' && c != '\n'; });
}

ResponseFraming HttpSession::framing() const {
  ResponseFraming framing;
  framing.version = version_;
  framing.head = head_;
  if (keep_alive_) {
    // The wait for a next request is the read timeout.
    framing.keep_alive_seconds = static_cast<int>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(options_.read_timeout).count()));
  }
  return framing;
}

void HttpSession::respond(std::uint64_t request, unsigned status, std::string content_type,
                          std::string body, HttpHeaders headers) {
  if (!is_current(request) || response_started_) return;
  response_started_ = true;
  if (end_of_input_ && !more_input_buffered()) keep_alive_ = false;  // no next request will come
  append(headers, cors_headers_);
  enqueue(serialize_response(status, content_type, std::move(body), framing(), headers));
  response_queued();
}

void HttpSession::start_stream(std::uint64_t request, unsigned status, std::string content_type) {
  if (!is_current(request) || response_started_) return;
  response_started_ = true;
  // HTTP/1.0 has no chunks: the connection's end is the stream's.
  if ((end_of_input_ && !more_input_buffered()) || version_ < 11) keep_alive_ = false;
  enqueue(serialize_stream_header(status, content_type, framing(), cors_headers_));
  if (head_) {
    // The header is the whole answer to HEAD; what the work would still send has nowhere to go,
    // so it is told to stop (posted: the handler may be the caller).
    response_queued();
    if (auto callback = std::exchange(disconnect_callback_, nullptr)) {
      asio::post(executor(), std::move(callback));
    }
    return;
  }
  streaming_ = true;
}

void HttpSession::send(std::uint64_t request, std::string data) {
  if (!is_current(request) || !streaming_ || data.empty()) return;
  enqueue(version_ >= 11 ? frame_chunk(data) : std::move(data));
}

void HttpSession::finish(std::uint64_t request) {
  if (!is_current(request) || !streaming_) return;
  streaming_ = false;
  if (version_ >= 11) enqueue(last_chunk());
  response_queued();
}

// Its last bytes are queued; the response is complete once they are written.
void HttpSession::response_queued() {
  response_ended_ = true;
  if (!writing_) {
    // Not at once: the caller may be the handler, and completing starts the next request.
    asio::post(executor(), [self = shared_from_this()] {
      if (!self->writing_) self->write_next();
    });
  }
}

void HttpSession::reply_and_close(unsigned status, const std::string& message) {
  // A request refused before it was dispatched: answered as one of its own.
  ++request_number_;
  in_request_ = true;
  version_ = 11;
  head_ = false;
  keep_alive_ = false;
  response_started_ = streaming_ = response_ended_ = false;
  cors_headers_.clear();
  parser_.reset();
  read_timer_.cancel();
  respond(request_number_, status, "application/json", error_json(status, message), {});
}

void HttpSession::enqueue(std::string bytes) {
  pending_bytes_ += bytes.size();
  outbound_.push_back(std::move(bytes));
  if (pending_bytes_ > options_.max_pending_stream_bytes && outbound_.size() > 1) {
    close();  // the client reads too slowly: drop it rather than buffer without end
    return;
  }
  if (!writing_) write_next();
}

void HttpSession::write_next() {
  if (closed_) return;
  if (outbound_.empty()) {
    writing_ = false;
    if (in_request_ && response_ended_) complete_response();
    return;
  }
  writing_ = true;
  write_timer_.expires_after(options_.write_timeout);
  write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && self->writing_) self->close();  // the client stopped reading
  });
  asio::async_write(socket_, asio::buffer(outbound_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->write_timer_.cancel();
                      if (self->closed_) return;
                      if (ec) {
                        self->close();  // reset or broken pipe: the client is gone
                        return;
                      }
                      self->pending_bytes_ -= self->outbound_.front().size();
                      self->outbound_.pop_front();
                      self->write_next();
                    });
}

// The whole response is written: the request is over.
void HttpSession::complete_response() {
  in_request_ = false;
  disconnect_callback_ = nullptr;
  if (!keep_alive_) {
    close_gracefully();
    return;
  }
  wait_for_request();
}

// Closing a socket with unread input makes the kernel reset the connection, and a reset can
// destroy the response the client has not read yet (a 413 sent while the body still arrives).
// So: stop sending, read and drop what still comes for a moment, then close.
void HttpSession::close_gracefully() {
  closing_ = true;
  buffer_.clear();
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  if (end_of_input_) {  // nothing more will come
    close();
    return;
  }
  read_timer_.expires_after(std::chrono::seconds(1));
  read_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->close();
  });
  read_more();
}

void HttpSession::close() {
  if (closed_) return;
  closed_ = true;
  const auto keep = shared_from_this();  // on_closed() drops the server's reference
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  read_timer_.cancel();
  write_timer_.cancel();
  if (!writing_) outbound_.clear();  // a write in progress still reads its buffer
  // Whenever the connection ends before the answer is complete, the work for it stops.
  if (auto callback = std::exchange(disconnect_callback_, nullptr)) callback();
  if (auto on_closed = std::exchange(on_closed_, nullptr)) on_closed(this);
}

}  // namespace tessera::net
