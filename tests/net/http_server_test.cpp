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
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
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
  // The next final response, skipping interim (1xx) ones; `head`: the answer to HEAD, which has
  // no body whatever its header says.
  http::response<http::string_body> receive_final(bool head = false) {
    for (;;) {
      http::response_parser<http::string_body> parser;
      parser.skip(head);
      http::read(socket_, buffer_, parser);
      if (parser.get().result_int() >= 200) return parser.release();
    }
  }
  // Everything up to the server's close, raw (for framing that a parser would hide).
  std::string read_to_close(std::chrono::milliseconds timeout = 5000ms) {
    std::string text(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.clear();
    socket_.non_blocking(true);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<char> chunk(64 * 1024);
    while (std::chrono::steady_clock::now() < deadline) {
      beast::error_code ec;
      const auto n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      text.append(chunk.data(), n);
      if (ec) return text;
    }
    ADD_FAILURE() << "the server did not close the connection within the timeout";
    return text;
  }
  void shutdown_send() { socket_.shutdown(tcp::socket::shutdown_send); }
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

TEST(HttpServer, AnExceptionFromTheHandlerIsA500ForThatRequestAlone) {
  HttpServer server(local_options(), [](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    if (request.target() == "/throw") throw std::runtime_error("number overflow");
    responder->respond(200, "text/plain", "fine");
  });
  Client client(server.port());
  client.send(http::verb::get, "/throw");
  const auto failed = client.receive();
  EXPECT_EQ(failed.result_int(), 500);
  EXPECT_NE(failed.body().find("number overflow"), std::string::npos) << failed.body();
  EXPECT_NE(failed.body().find("\"server_error\""), std::string::npos) << failed.body();
  client.send(http::verb::get, "/after");  // the same connection goes on
  EXPECT_EQ(client.receive().body(), "fine");
}

TEST(HttpServer, AnExceptionAfterAStreamBeganCutsTheConnection) {
  HttpServer server(local_options(), [](HttpRequest&&, std::shared_ptr<Responder> responder) {
    responder->start_stream(200, "text/event-stream");
    responder->send("data: one\n\n");
    throw std::runtime_error("broken");
  });
  Client client(server.port());
  client.send(http::verb::get, "/");
  const auto text = client.read_to_close();  // whatever of the stream got out
  EXPECT_EQ(text.find("0\r\n\r\n"), std::string::npos) << "no last chunk: the stream is not complete";
  EXPECT_EQ(text.find("500"), std::string::npos) << text;
}

// Answers later, from another thread, with the target: the order of answers shows.
HttpHandler slow_echo_handler(std::chrono::milliseconds delay) {
  return [delay](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    std::thread([delay, responder, target = std::string(request.target())] {
      std::this_thread::sleep_for(delay);
      responder->respond(200, "text/plain", target);
    }).detach();
  };
}

TEST(HttpServer, AnswersARequestPipelinedDuringAnotherInOrder) {
  HttpServer server(local_options(), slow_echo_handler(100ms));
  Client client(server.port());
  client.send(http::verb::get, "/first");
  std::this_thread::sleep_for(30ms);  // the first is being answered
  client.send(http::verb::get, "/second");
  client.send(http::verb::post, "/third", "body");
  EXPECT_EQ(client.receive().body(), "/first");
  EXPECT_EQ(client.receive().body(), "/second");
  EXPECT_EQ(client.receive().body(), "/third");
}

TEST(HttpServer, IgnoresEmptyLinesBeforeAndBetweenRequests) {
  HttpServer server(local_options(), slow_echo_handler(50ms));
  Client client(server.port());
  client.send_raw("\r\n\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  std::this_thread::sleep_for(20ms);
  client.send_raw("\r\n");  // RFC 9112 section 2.2: the CRLF some clients add after a body
  EXPECT_EQ(client.receive().body(), "/a");
  client.send(http::verb::get, "/b");
  EXPECT_EQ(client.receive().body(), "/b");
}

TEST(HttpServer, TellsTheHandlerWhenAClientThatSentMoreHangsUp) {
  std::promise<void> disconnected;
  std::shared_ptr<Responder> kept;
  HttpServer server(local_options(), [&](HttpRequest&&, std::shared_ptr<Responder> responder) {
    kept = responder;
    responder->on_disconnect([&] { disconnected.set_value(); });
  });
  Client client(server.port());
  client.send(http::verb::post, "/long", "{}");
  std::this_thread::sleep_for(50ms);
  client.send_raw("\r\n");  // a stray byte while the request runs
  std::this_thread::sleep_for(50ms);
  client.close();
  EXPECT_EQ(disconnected.get_future().wait_for(2s), std::future_status::ready);
}

TEST(HttpServer, StopEndsASessionWithARequestInFlightAndTellsTheHandler) {
  std::promise<void> disconnected;
  std::shared_ptr<Responder> kept;
  HttpServer server(local_options(), [&](HttpRequest&&, std::shared_ptr<Responder> responder) {
    kept = responder;
    responder->on_disconnect([&] { disconnected.set_value(); });
  });
  Client client(server.port());
  client.send(http::verb::post, "/long", "{}");
  std::this_thread::sleep_for(50ms);
  client.send_raw("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");  // pipelined behind it
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms) << "stop() waited for the session";
  EXPECT_EQ(disconnected.get_future().wait_for(1s), std::future_status::ready);
}

TEST(HttpServer, StopsReadingAPipeliningClientPastTheBuffer) {
  auto options = local_options();
  options.max_pipelined_bytes = 16 * 1024;
  std::shared_ptr<Responder> kept;
  HttpServer server(options, [&](HttpRequest&&, std::shared_ptr<Responder> responder) {
    kept = responder;  // never answered: everything after it waits
  });
  Client client(server.port());
  client.send(http::verb::get, "/first");
  std::this_thread::sleep_for(50ms);
  // The server takes its buffer's worth and the kernel's; then the client's writes must block.
  client.socket().non_blocking(true);
  const std::string request = "GET /more HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string flood;
  while (flood.size() < 1024 * 1024) flood += request;  // a whole number of them
  std::size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < deadline && written < 256u * 1024 * 1024) {
    beast::error_code ec;
    written += client.socket().write_some(asio::buffer(flood.substr(written % flood.size())), ec);
    if (ec == asio::error::would_block) std::this_thread::sleep_for(1ms);
    else ASSERT_FALSE(ec) << ec.message();
  }
  EXPECT_LT(written, 256u * 1024 * 1024) << "the server read without bound";
}

TEST(HttpServer, AnswersHeadWithTheHeaderOnly) {
  HttpServer server(local_options(), [](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    EXPECT_EQ(request.method(), http::verb::head);  // the handler sees HEAD as it came
    responder->respond(200, "application/json", R"({"status":"ok"})");
  });
  Client client(server.port());
  client.send(http::verb::head, "/health");
  client.send(http::verb::head, "/health");
  const auto head = client.receive_final(/*head=*/true);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], "15");
  EXPECT_EQ(head[http::field::content_type], "application/json");
  // Had a body been written, it would be read here as the start of the second response.
  EXPECT_EQ(client.receive_final(/*head=*/true).result_int(), 200);
}

TEST(HttpServer, AStreamAnsweredToHeadEndsWithItsHeaderAndStopsTheWork) {
  std::promise<void> stopped;
  HttpServer server(local_options(), [&](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    if (request.method() != http::verb::head) {
      responder->respond(200, "text/plain", "next");
      return;
    }
    responder->on_disconnect([&] { stopped.set_value(); });
    responder->start_stream(200, "text/event-stream");
    responder->send("data: never written\n\n");
  });
  Client client(server.port());
  client.send(http::verb::head, "/stream");
  const auto head = client.receive_final(/*head=*/true);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(stopped.get_future().wait_for(2s), std::future_status::ready);
  client.send(http::verb::get, "/next");
  EXPECT_EQ(client.receive().body(), "next");
}

TEST(HttpServer, AnswersExpect100ContinueBeforeTheBody) {
  HttpServer server(local_options(), echo_handler());
  Client client(server.port());
  client.send_raw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  const auto interim = client.receive();  // the body is not sent until it comes
  EXPECT_EQ(interim.result_int(), 100);
  client.send_raw("data");
  EXPECT_EQ(client.receive().body(), "POST /upload data");
}

TEST(HttpServer, RefusesAnExpectedBodyOverTheLimitWithoutAsking) {
  auto options = local_options();
  options.max_body_bytes = 1024;
  HttpServer server(options, echo_handler());
  Client client(server.port());
  client.send_raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.receive().result_int(), 413);
}

TEST(HttpServer, StreamsToAnHttp10ClientWithoutChunksUntilClose) {
  HttpServer server(local_options(), [](HttpRequest&&, std::shared_ptr<Responder> responder) {
    std::thread([responder] {
      responder->start_stream(200, "text/event-stream");
      responder->send("data: one\n\n");
      responder->send("data: two\n\n");
      responder->finish();
    }).detach();
  });
  Client client(server.port());
  client.send_raw("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const auto text = client.read_to_close();
  const auto header_end = text.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos) << text;
  const auto header = text.substr(0, header_end);
  EXPECT_EQ(header.rfind("HTTP/1.0 200", 0), 0u) << header;
  EXPECT_EQ(header.find("Transfer-Encoding"), std::string::npos) << header;
  EXPECT_NE(header.find("Connection: close"), std::string::npos) << header;
  EXPECT_EQ(text.substr(header_end + 4), "data: one\n\ndata: two\n\n");
}

TEST(HttpServer, KeepsAnHttp10ClientThatAsksWithContentLength) {
  HttpServer server(local_options(), echo_handler());
  Client client(server.port());
  client.send_raw("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const auto first = client.receive();
  EXPECT_EQ(first.version(), 10);
  EXPECT_EQ(first[http::field::content_length], "7");
  EXPECT_EQ(first[http::field::connection], "keep-alive");
  client.send_raw("GET /b HTTP/1.0\r\n\r\n");
  EXPECT_EQ(client.receive().body(), "GET /b ");
  EXPECT_TRUE(client.closed_by_server(2000ms));
}

TEST(HttpServer, AnswersAClientThatHalfClosesAfterItsRequest) {
  HttpServer server(local_options(), slow_echo_handler(200ms));
  Client client(server.port());
  client.send(http::verb::post, "/half", "x");
  client.send(http::verb::get, "/pipelined");
  client.shutdown_send();
  const auto first = client.receive_final();
  EXPECT_EQ(first.body(), "/half");
  const auto second = client.receive_final();
  EXPECT_EQ(second.body(), "/pipelined");
  EXPECT_FALSE(second.keep_alive());
  EXPECT_TRUE(client.closed_by_server(2000ms));
}

TEST(HttpServer, TellsTheHandlerWhenAnHttp10ClientIsFoundGoneByTheWrite) {
  std::promise<void> disconnected;
  HttpServer server(local_options(), [&](HttpRequest&&, std::shared_ptr<Responder> responder) {
    responder->on_disconnect([&] { disconnected.set_value(); });
    std::thread([responder] {
      std::this_thread::sleep_for(100ms);
      responder->start_stream(200, "text/event-stream");
      for (int i = 0; i < 200; ++i) {
        responder->send("data: x\n\n");
        std::this_thread::sleep_for(5ms);
      }
      responder->finish();
    }).detach();
  });
  Client client(server.port());
  client.send_raw("GET / HTTP/1.0\r\n\r\n");
  client.close();
  EXPECT_EQ(disconnected.get_future().wait_for(3s), std::future_status::ready);
}

HttpServerOptions cors_options() {
  auto options = local_options();
  options.allowed_origins = {"https://app.example", "http://localhost:3000"};
  return options;
}

TEST(HttpServer, AnswersACorsPreflightItselfBeforeTheHandler) {
  std::atomic<int> handled{0};
  HttpServer server(cors_options(), [&](HttpRequest&&, std::shared_ptr<Responder> responder) {
    ++handled;
    responder->respond(401, "application/json", "{}");
  });
  Client client(server.port());
  client.send_raw("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\n"
                  "Access-Control-Request-Method: POST\r\n"
                  "Access-Control-Request-Headers: authorization, content-type\r\n\r\n");
  const auto allowed = client.receive();
  EXPECT_EQ(allowed.result_int(), 204);
  EXPECT_EQ(allowed[http::field::access_control_allow_origin], "http://localhost:3000");
  EXPECT_EQ(allowed[http::field::access_control_allow_headers], "authorization, content-type");
  EXPECT_NE(allowed[http::field::access_control_allow_methods].find("POST"), std::string::npos);
  EXPECT_FALSE(allowed[http::field::access_control_max_age].empty());
  EXPECT_NE(allowed[http::field::vary].find("Origin"), std::string::npos);

  client.send_raw("OPTIONS /v1/models HTTP/1.1\r\nHost: x\r\nOrigin: https://other.example\r\n"
                  "Access-Control-Request-Method: GET\r\n\r\n");
  const auto refused = client.receive();
  EXPECT_EQ(refused.result_int(), 403);
  EXPECT_EQ(refused.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(handled, 0);
}

TEST(HttpServer, AddsCorsFieldsToAnswersForAnAllowedOrigin) {
  HttpServer server(cors_options(), [](HttpRequest&& request, std::shared_ptr<Responder> responder) {
    if (request.target() == "/stream") {
      responder->start_stream(200, "text/event-stream");
      responder->finish();
      return;
    }
    responder->respond(200, "text/plain", "whole", {{"Vary", "Accept"}});
  });
  Client client(server.port());
  client.send_raw("GET / HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  const auto whole = client.receive();
  EXPECT_EQ(whole[http::field::access_control_allow_origin], "https://app.example");
  EXPECT_EQ(whole[http::field::vary], "Accept, Origin");
  client.send_raw("GET /stream HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  EXPECT_EQ(client.receive()[http::field::access_control_allow_origin], "https://app.example");
  client.send_raw("GET / HTTP/1.1\r\nHost: x\r\nOrigin: https://other.example\r\n\r\n");
  const auto other = client.receive();
  EXPECT_EQ(other.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(other[http::field::vary], "Accept, Origin");
}

TEST(HttpServer, SendsNoCorsFieldsWithoutAllowedOrigins) {
  HttpServer server(local_options(), echo_handler());
  Client client(server.port());
  client.send_raw("OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                  "Access-Control-Request-Method: POST\r\n\r\n");
  const auto response = client.receive();
  EXPECT_EQ(response.body(), "OPTIONS / ");  // the handler's to answer
  EXPECT_EQ(response.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(response.count(http::field::vary), 0u);
}

TEST(HttpServer, RefusesAnAllowedOriginThatIsNotOne) {
  auto options = local_options();
  options.allowed_origins = {"https://app.example/path"};
  try {
    HttpServer server(options, echo_handler());
    ADD_FAILURE() << "accepted a path as an origin";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("--allowed-origins"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("https://app.example/path"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tessera::net
