// A minimal OpenAI-compatible server assembled from tessera's public pieces: an Engine (the
// actor runtime), the HTTP server, and the OpenAI service, plus one route of its own to show
// where an embedding application adds endpoints. Stop it with Ctrl-C.
//
//   actor_server MODEL_DIR [PORT]
//   curl localhost:8000/v1/completions -d '{"prompt": "In the beginning", "max_tokens": 16}'
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include "actors/engine.hpp"
#include "net/http/http_server.hpp"
#include "net/openai/openai_service.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [PORT]\n", argv[0]);
    return 2;
  }
  try {
    tessera::actors::EngineConfig config;
    config.model_dir = argv[1];
    const auto engine = tessera::actors::Engine::start(config);

    tessera::net::OpenAiServiceOptions api;
    api.model_id = config.model_dir.filename().string();
    tessera::net::OpenAiService service(api, *engine);

    tessera::net::HttpServerOptions http;
    http.port = static_cast<std::uint16_t>(argc > 2 ? std::stoi(argv[2]) : 8000);
    tessera::net::HttpServer server(http, [&](tessera::net::HttpRequest&& request,
                                              std::shared_ptr<tessera::net::Responder> responder) {
      if (request.target() == "/hello") {  // the application's own route
        responder->respond(200, "text/plain", "hello from an embedded tessera\n");
        return;
      }
      service.handle(std::move(request), std::move(responder));
    });
    std::printf("serving %s on http://127.0.0.1:%u\n", api.model_id.c_str(), server.port());
    std::fflush(stdout);

    std::signal(SIGINT, [](int) { stop_requested = 1; });
    std::signal(SIGTERM, [](int) { stop_requested = 1; });
    // The handler may run on any thread, so the main thread polls rather than pause()s.
    while (!stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stop_accepting();
    engine->shutdown();  // open requests end as cancelled and their clients get an error event
    server.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actor_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
