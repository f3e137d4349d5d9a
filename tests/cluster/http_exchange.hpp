#pragma once
// One HTTP/1.1 exchange over a raw loopback socket, read as it arrives (for SSE streams), with
// every read bounded by a deadline.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

namespace tessera::testing {

class HttpExchange {
 public:
  HttpExchange(int port, const std::string& method, const std::string& path,
               const std::string& body = "") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
    const std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                "Content-Type: application/json\r\nConnection: close\r\n" +
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    connected_ = ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
                 static_cast<ssize_t>(request.size());
  }
  ~HttpExchange() {
    if (fd_ >= 0) ::close(fd_);
  }
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  bool connected() const { return connected_; }
  // Reads until `done(text so far)` holds, the peer closes, or `timeout` passes; whether it held.
  bool read_until(const std::function<bool(const std::string&)>& done,
                  std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(text_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !connected_) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return done(text_);
      text_.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
  }
  bool read_until_text(const std::string& needle, std::chrono::milliseconds timeout) {
    return read_until([&](const std::string& t) { return t.find(needle) != std::string::npos; },
                      timeout);
  }
  const std::string& text() const { return text_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string text_;
};

}  // namespace tessera::testing
