#include "net/http/http_server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/http/http_session.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

}  // namespace

struct HttpServer::State {
  std::shared_ptr<const SessionConfig> config;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  mutable std::mutex mutex;
  // The server owns its connections until they close: a connection that waits for its
  // handler's answer, reading nothing (its pipelining buffer full), has nothing else that holds it.
  std::unordered_map<HttpSession*, std::shared_ptr<HttpSession>> sessions;
  std::atomic<bool> stopped{false};

  void accept(const std::shared_ptr<State>& self);
  void forget(HttpSession* session) {
    std::lock_guard lock(mutex);
    sessions.erase(session);
  }
};

void HttpServer::State::accept(const std::shared_ptr<State>& self) {
  acceptor.async_accept(asio::make_strand(io), [self](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) {
      // Connections may outlive the server by a moment: they hold it weakly.
      auto forget = [weak = std::weak_ptr<State>(self)](HttpSession* session) {
        if (auto state = weak.lock()) state->forget(session);
      };
      auto session = std::make_shared<HttpSession>(std::move(socket), self->config, forget);
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
  CorsPolicy cors(options.allowed_origins);  // checks them first
  state_->config = std::make_shared<const SessionConfig>(
      SessionConfig{std::move(options), std::move(handler), std::move(cors)});
  const auto& o = state_->config->options;
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
  return ec ? state_->config->options.port : endpoint.port();
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
  std::vector<std::shared_ptr<HttpSession>> open;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& [raw, session] : state_->sessions) open.push_back(session);
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
