#include "net/http/http_server.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/http/http_text.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session;

}  // namespace

struct HttpServer::State {
  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::atomic<bool> stopped{false};

  void accept(const std::shared_ptr<State>& self);
  void forget(Session* session) {
    std::lock_guard lock(mutex);
    sessions.erase(session);
  }
};

namespace {

class SessionResponder;

// One connection: reads a request, hands it to the handler, writes what the Responder gives it,
// then reads the next one. Everything runs on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const std::shared_ptr<HttpServer::State>& server)
      : stream_(std::move(socket)),
        write_timer_(stream_.get_executor()),
        server_(server),
        options_(server->options),
        handler_(server->handler) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }
  void close_soon() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

  // Called through a Responder, always on the strand. `request` numbers the connection's
  // requests, so that a late call for an earlier request is recognised and ignored.
  void respond(std::uint64_t request, unsigned status, std::string content_type, std::string body,
               HttpHeaders headers);
  void start_stream(std::uint64_t request, unsigned status, std::string content_type);
  void send(std::uint64_t request, std::string data);
  void finish(std::uint64_t request);
  void set_disconnect_callback(std::uint64_t request, std::function<void()> callback);

  auto executor() { return stream_.get_executor(); }

 private:
  // The wait for a next request is the read timeout; 0 when this response ends the connection.
  int keep_alive_seconds() const {
    if (!keep_alive_) return 0;
    return static_cast<int>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(options_.read_timeout).count()));
  }

  bool is_current(std::uint64_t request) const {
    return !closed_ && in_request_ && request == request_number_ && !response_queued_;
  }

  void read_request() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    stream_.expires_after(options_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(beast::error_code ec);

  // While the handler works, a pending read notices a client that hangs up. Bytes that arrive
  // instead belong to a pipelined next request and are kept for it.
  void watch_for_disconnect() {
    watching_ = true;
    stream_.socket().async_read_some(
        asio::buffer(watch_bytes_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->watching_ = false;
          if (self->closed_) return;
          if (self->closing_) {  // draining what the client still sends before closing
            if (ec) {
              self->close();
            } else {
              self->watch_for_disconnect();
            }
            return;
          }
          if (ec == asio::error::operation_aborted && self->response_done_) {
            self->read_request();  // cancelled on purpose: the response is out
            return;
          }
          if (ec) {
            self->close();
            return;
          }
          auto space = self->buffer_.prepare(n);
          std::memcpy(space.data(), self->watch_bytes_.data(), n);
          self->buffer_.commit(n);
          if (self->response_done_) self->read_request();
        });
  }

  void reply_and_close(unsigned status, const std::string& message) {
    keep_alive_ = false;
    response_done_ = false;
    enqueue(serialize_response(status, "application/json", error_json(status, message), 0));
    response_queued_ = true;
  }

  void enqueue(std::string bytes) {
    pending_bytes_ += bytes.size();
    outbound_.push_back(std::move(bytes));
    if (pending_bytes_ > options_.max_pending_stream_bytes && outbound_.size() > 1) {
      close();  // the client reads too slowly: drop it rather than buffer without end
      return;
    }
    if (!writing_) write_next();
  }

  void write_next() {
    if (closed_) return;
    if (outbound_.empty()) {
      writing_ = false;
      if (response_queued_) complete_response();
      return;
    }
    writing_ = true;
    write_timer_.expires_after(options_.write_timeout);
    write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->writing_) self->close();  // the client stopped reading
    });
    asio::async_write(stream_.socket(), asio::buffer(outbound_.front()),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->write_timer_.cancel();
                        if (self->closed_) return;
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->pending_bytes_ -= self->outbound_.front().size();
                        self->outbound_.pop_front();
                        self->write_next();
                      });
  }

  // The whole response is written: the request is over.
  void complete_response() {
    in_request_ = false;
    disconnect_callback_ = nullptr;
    response_done_ = true;
    if (!keep_alive_) {
      close_gracefully();
      return;
    }
    if (watching_) {
      stream_.socket().cancel();  // the watch's handler starts the next read
    } else {
      read_request();
    }
  }

  // Closing a socket with unread input makes the kernel reset the connection, and a reset can
  // destroy the response the client has not read yet (a 413 sent while the body still arrives).
  // So: stop sending, read and drop what still comes for a moment, then close.
  void close_gracefully() {
    closing_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    write_timer_.expires_after(std::chrono::seconds(1));
    write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->close();
    });
    if (!watching_) watch_for_disconnect();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    write_timer_.cancel();
    if (!writing_) outbound_.clear();  // a write in progress still reads its buffer
    if (auto callback = std::exchange(disconnect_callback_, nullptr)) callback();
    if (auto server = server_.lock()) server->forget(this);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer write_timer_;
  std::weak_ptr<HttpServer::State> server_;
  const HttpServerOptions options_;
  const HttpHandler handler_;
  std::array<char, 4096> watch_bytes_{};
  std::deque<std::string> outbound_;
  std::size_t pending_bytes_ = 0;
  std::uint64_t request_number_ = 0;
  bool in_request_ = false;  // a request is being answered
  std::function<void()> disconnect_callback_;
  bool keep_alive_ = true;
  bool writing_ = false;
  bool watching_ = false;
  bool streaming_ = false;
  bool response_queued_ = false;  // the last bytes of the response are queued
  bool response_done_ = false;    // ... and written
  bool closing_ = false;  // the last response is out; input is drained until close()
  bool closed_ = false;
};

class SessionResponder final : public Responder {
 public:
  SessionResponder(std::weak_ptr<Session> session, std::uint64_t request)
      : session_(std::move(session)), request_(request) {}

  using Responder::respond;
  void respond(unsigned status, std::string content_type, std::string body,
               HttpHeaders headers) override {
    on_strand([status, content_type = std::move(content_type), body = std::move(body),
               headers = std::move(headers)](Session& s, std::uint64_t request) mutable {
      s.respond(request, status, std::move(content_type), std::move(body), std::move(headers));
    });
  }
  void start_stream(unsigned status, std::string content_type) override {
    on_strand([status, content_type = std::move(content_type)](Session& s,
                                                                std::uint64_t request) mutable {
      s.start_stream(request, status, std::move(content_type));
    });
  }
  void send(std::string data) override {
    on_strand([data = std::move(data)](Session& s, std::uint64_t request) mutable {
      s.send(request, std::move(data));
    });
  }
  void finish() override {
    on_strand([](Session& s, std::uint64_t request) { s.finish(request); });
  }
  void on_disconnect(std::function<void()> callback) override {
    if (session_.expired()) {
      if (callback) callback();
      return;
    }
    on_strand([callback = std::move(callback)](Session& s, std::uint64_t request) mutable {
      s.set_disconnect_callback(request, std::move(callback));
    });
  }

 private:
  template <class Work>
  void on_strand(Work work) {
    auto session = session_.lock();
    if (!session) return;
    asio::dispatch(session->executor(), [session, request = request_, work = std::move(work)]() mutable {
      work(*session, request);
    });
  }
  std::weak_ptr<Session> session_;
  std::uint64_t request_;
};

void Session::on_request(beast::error_code ec) {
  if (closed_) return;
  stream_.expires_never();
  if (ec == http::error::body_limit) {
    reply_and_close(413, "the request body exceeds the server's limit of " +
                             std::to_string(options_.max_body_bytes) + " bytes");
    return;
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == asio::error::eof) {
    close();
    return;
  }
  if (ec) {
    reply_and_close(400, "malformed HTTP request: " + ec.message());
    return;
  }
  HttpRequest request = parser_->release();
  keep_alive_ = request.keep_alive();
  response_queued_ = false;
  response_done_ = false;
  in_request_ = true;
  auto responder = std::make_shared<SessionResponder>(shared_from_this(), ++request_number_);
  watch_for_disconnect();
  handler_(std::move(request), std::move(responder));
}

void Session::respond(std::uint64_t request, unsigned status, std::string content_type,
                      std::string body, HttpHeaders headers) {
  if (!is_current(request) || streaming_) return;
  response_queued_ = true;
  enqueue(serialize_response(status, content_type, std::move(body), keep_alive_seconds(), headers));
}

void Session::start_stream(std::uint64_t request, unsigned status, std::string content_type) {
  if (!is_current(request) || streaming_) return;
  streaming_ = true;
  enqueue(serialize_stream_header(status, content_type, keep_alive_seconds()));
}

void Session::send(std::uint64_t request, std::string data) {
  if (!is_current(request) || !streaming_ || data.empty()) return;
  enqueue(frame_chunk(data));
}

void Session::finish(std::uint64_t request) {
  if (!is_current(request) || !streaming_) return;
  streaming_ = false;
  response_queued_ = true;
  enqueue(last_chunk());
}

void Session::set_disconnect_callback(std::uint64_t request, std::function<void()> callback) {
  if (request != request_number_) return;
  if (closed_) {
    if (callback) callback();  // gone before the callback was set
    return;
  }
  if (in_request_) disconnect_callback_ = std::move(callback);
}

}  // namespace

void HttpServer::State::accept(const std::shared_ptr<State>& self) {
  acceptor.async_accept(asio::make_strand(io), [self](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) {
      auto session = std::make_shared<Session>(std::move(socket), self);
      {
        std::lock_guard lock(self->mutex);
        self->sessions.emplace(session.get(), session);
      }
      session->start();
    }
    self->accept(self);
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : state_(std::make_shared<State>()) {
  if (options.io_threads < 1) {
    throw Error(ErrorCategory::invalid_argument, "--io-threads must be at least 1");
  }
  state_->options = std::move(options);
  state_->handler = std::move(handler);
  const auto& o = state_->options;
  beast::error_code ec;
  const auto address = asio::ip::make_address(o.host, ec);
  if (ec) throw Error(ErrorCategory::invalid_argument, "--host: '" + o.host + "' is not an IP address");
  const tcp::endpoint endpoint(address, o.port);
  auto& acceptor = state_->acceptor;
  const std::string where = o.host + ":" + std::to_string(o.port);
  if (acceptor.open(endpoint.protocol(), ec) ||
      acceptor.set_option(asio::socket_base::reuse_address(true), ec) ||
      acceptor.bind(endpoint, ec) || acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
    throw Error(ErrorCategory::io, "cannot listen on " + where + ": " + ec.message());
  }
  state_->accept(state_);
  for (int i = 0; i < o.io_threads; ++i) {
    state_->threads.emplace_back([state = state_] { state->io.run(); });
  }
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const {
  beast::error_code ec;
  const auto endpoint = state_->acceptor.local_endpoint(ec);
  return ec ? state_->options.port : endpoint.port();
}

std::size_t HttpServer::open_connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->sessions.size();
}

void HttpServer::stop_accepting() {
  asio::post(state_->io, [state = state_] {
    beast::error_code ignored;
    state->acceptor.close(ignored);
  });
}

void HttpServer::stop() {
  if (state_->stopped.exchange(true)) return;
  stop_accepting();
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& [raw, weak] : state_->sessions) {
      if (auto session = weak.lock()) open.push_back(session);
    }
  }
  for (auto& session : open) session->close_soon();
  open.clear();
  // The closes above run on the I/O threads; give them a moment, then stop whatever remains.
  for (int i = 0; i < 100 && open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  state_->io.stop();
  for (auto& thread : state_->threads) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace tessera::net
