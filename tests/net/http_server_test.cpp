// The HTTP server on its own, with handlers written here: keep-alive, chunked streams, the body
// limit, malformed requests, clients that hang up, stall, or trickle, and that none of them
// disturbs another connection.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "net/http/http_server.hpp"

namespace tessera::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A blocking client on its own io_context.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  void send(http::verb verb, const std::string& target, const std::string& body = "") {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "localhost");
    request.body() = body;
    request.prepare_payload();
    http::write(socket_, request);
  }
  void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  http::response<http::string_body> receive() {
    http::response<http::string_body> response;
    http::read(socket_, buffer_, response);
    return response;
  }
  // True when the server closed the connection within `timeout` (whatever it sent before is
  // read and dropped).
  bool closed_by_server(std::chrono::milliseconds timeout) {
    socket_.non_blocking(true);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<char> sink(64 * 1024);
    while (std::chrono::steady_clock::now() < deadline) {
      beast::error_code ec;
      socket_.read_some(asio::buffer(sink), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(1ms);
      } else if (ec) {
        return true;  // end of stream or reset
      }
    }
    return false;
  }
  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  tcp::socket& socket() { return socket_; }

 private:
  asio::io_context io_;
  tcp::socket socket_{io_};
  beast::flat_buffer buffer_;
};

HttpServerOptions local_options() {
  HttpServerOptions options;
  options.port = 0;
  return options;
}

// Answers every request with its method and target, at once.
HttpHandler echo_handler() {
  return [](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    responder->respond(200, "text/plain",
                       std::string(request.method_string()) + " " + std::string(request.target()) +
                           " " + request.body());
  };
}

TEST(HttpServer, AnswersSeveralRequestsOnOneConnection) {
  HttpServer server(local_options(), echo_handler());
  Client client(server.port());
  client.send(http::verb::get, "/a");
  EXPECT_EQ(client.receive().body(), "GET /a ");
  client.send(http::verb::post, "/b", "payload");
  const auto second = client.receive();
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_EQ(second.body(), "POST /b payload");
  EXPECT_EQ(second[http::field::content_type], "text/plain");
}

TEST(HttpServer, AnswersFromAnotherThreadLater) {
  HttpServer server(local_options(), [](HttpRequest&&, std::shared_ptr<Responder> responder) {
    std::thread([responder] {
      std::this_thread::sleep_for(50ms);
      responder->respond(201, "text/plain", "later");
    }).detach();
  });
  Client client(server.port());
  client.send(http::verb::get, "/");
  const auto response = client.receive();
  EXPECT_EQ(response.result_int(), 201);
  EXPECT_EQ(response.body(), "later");
}

TEST(HttpServer, StreamsChunksThenServesTheNextRequest) {
  HttpServer server(local_options(), [](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    if (request.target() != "/stream") {
      responder->respond(200, "text/plain", "plain");
      return;
    }
    std::thread([responder] {
      responder->start_stream(200, "text/event-stream");
      for (const char* piece : {"data: one\n\n", "data: two\n\n", "data: three\n\n"}) {
        responder->send(piece);
        std::this_thread::sleep_for(5ms);
      }
      responder->finish();
    }).detach();
  });
  Client client(server.port());
  client.send(http::verb::get, "/stream");
  const auto streamed = client.receive();
  EXPECT_EQ(streamed.body(), "data: one\n\ndata: two\n\ndata: three\n\n");
  EXPECT_EQ(streamed[http::field::content_type], "text/event-stream");
  EXPECT_TRUE(streamed.chunked());
  client.send(http::verb::get, "/after");
  EXPECT_EQ(client.receive().body(), "plain");
}

TEST(HttpServer, RefusesABodyOverTheLimitWith413AndStaysUp) {
  auto options = local_options();
  options.max_body_bytes = 1024;
  HttpServer server(options, echo_handler());
  Client big(server.port());
  big.send(http::verb::post, "/", std::string(64 * 1024, 'x'));
  const auto refused = big.receive();
  EXPECT_EQ(refused.result_int(), 413);
  EXPECT_NE(refused.body().find("\"error\""), std::string::npos);
  EXPECT_NE(refused.body().find("1024"), std::string::npos);

  Client next(server.port());
  next.send(http::verb::post, "/", "small");
  EXPECT_EQ(next.receive().body(), "POST / small");
}

TEST(HttpServer, RefusesAMalformedRequestWith400) {
  HttpServer server(local_options(), echo_handler());
  Client client(server.port());
  client.send_raw("THIS IS NOT HTTP\r\n\r\n");
  const auto refused = client.receive();
  EXPECT_EQ(refused.result_int(), 400);
  EXPECT_NE(refused.body().find("malformed"), std::string::npos);
}

TEST(HttpServer, TellsTheHandlerWhenTheClientHangsUp) {
  std::promise<void> disconnected;
  std::shared_ptr<Responder> kept;
  HttpServer server(local_options(), [&](HttpRequest&&, std::shared_ptr<Responder> responder) {
    kept = responder;  // never answered: the work is "still running"
    responder->on_disconnect([&] { disconnected.set_value(); });
  });
  Client client(server.port());
  client.send(http::verb::post, "/long", "{}");
  std::this_thread::sleep_for(50ms);
  client.close();
  EXPECT_EQ(disconnected.get_future().wait_for(2s), std::future_status::ready);
  kept->respond(200, "text/plain", "too late");  // ignored, and harmless
}

TEST(HttpServer, DropsAClientThatStopsReadingWithoutStallingOthers) {
  auto options = local_options();
  options.max_pending_stream_bytes = 256 * 1024;
  options.write_timeout = 2000ms;
  std::promise<void> dropped;
  std::atomic<bool> gone{false};
  HttpServer server(options, [&](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    if (request.target() != "/flood") {
      responder->respond(200, "text/plain", "fine");
      return;
    }
    responder->on_disconnect([&] {
      gone = true;
      dropped.set_value();
    });
    std::thread([responder, &gone] {
      responder->start_stream(200, "text/event-stream");
      const std::string piece(16 * 1024, 'y');
      for (int i = 0; i < 10000 && !gone; ++i) {
        responder->send(piece);
        std::this_thread::sleep_for(1ms);
      }
    }).detach();
  });
  Client stalled(server.port());
  stalled.send(http::verb::get, "/flood");  // and never reads

  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    Client other(server.port());
    other.send(http::verb::get, "/quick");
    EXPECT_EQ(other.receive().body(), "fine");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(dropped.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(stalled.closed_by_server(10000ms));  // after what the kernel buffered
}

TEST(HttpServer, ClosesAConnectionWhoseRequestNeverCompletes) {
  auto options = local_options();
  options.read_timeout = 200ms;
  HttpServer server(options, echo_handler());
  Client slow(server.port());
  slow.send_raw("GET / HTTP/1.1\r\nHost: x\r\n");  // the blank line never comes
  Client other(server.port());
  other.send(http::verb::get, "/ok");
  EXPECT_EQ(other.receive().body(), "GET /ok ");
  EXPECT_TRUE(slow.closed_by_server(3000ms));
}

TEST(HttpServer, ReportsAnAddressItCannotUse) {
  auto options = local_options();
  options.host = "not-an-ip";
  EXPECT_THROW(HttpServer(options, echo_handler()), std::exception);
  HttpServer first(local_options(), echo_handler());
  auto taken = local_options();
  taken.port = first.port();
  try {
    HttpServer second(taken, echo_handler());
    ADD_FAILURE() << "a second server bound the same port";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos) << e.what();
  }
}

TEST(HttpServer, StopClosesOpenConnections) {
  HttpServer server(local_options(), [](HttpRequest&&, std::shared_ptr<Responder>) {});
  Client client(server.port());
  client.send(http::verb::get, "/never-answered");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(server.open_connections(), 1u);
  server.stop();
  EXPECT_TRUE(client.closed_by_server(2000ms));
}

}  // namespace
}  // namespace tessera::net
