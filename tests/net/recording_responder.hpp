#pragma once
// A Responder for unit tests of the OpenAI service's answers: it keeps the one whole response
// it was given (status, body, headers) and ignores streaming.
#include <functional>
#include <string>
#include <utility>

#include "net/http/http_server.hpp"

namespace tessera::net {

struct RecordingResponder final : Responder {
  unsigned status = 0;
  std::string body;
  HttpHeaders headers;
  using Responder::respond;
  void respond(unsigned s, std::string, std::string b, HttpHeaders h) override {
    status = s;
    body = std::move(b);
    headers = std::move(h);
  }
  void start_stream(unsigned, std::string) override {}
  void send(std::string) override {}
  void finish() override {}
  void on_disconnect(std::function<void()>) override {}

  // The value of the response header `name`, or "<absent>".
  std::string header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "<absent>";
  }
};

}  // namespace tessera::net
