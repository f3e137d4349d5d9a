// `tessera serve`: the OpenAI-compatible HTTP API. The server listens at once (answering 503
// while the model loads, so health checks see it coming up), says `ready` once every rank has
// loaded, and on SIGINT/SIGTERM stops accepting, lets requests in flight finish within a bound,
// cancels the rest and exits 0.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unistd.h>
#include <thread>

#include "actors/engine.hpp"
#include "app/commands/engine_flags.hpp"
#include "app/commands/registry.hpp"
#include "app/commands/worker_mode.hpp"
#include "net/http/http_server.hpp"
#include "net/openai/openai_service.hpp"
#include "runtime/core/error.hpp"

namespace tessera::app {
namespace {

using Clock = std::chrono::steady_clock;

struct ServeOptions {
  EngineFlags engine;
  net::HttpServerOptions http;
  std::string api_key;
  std::string served_model_name;
  std::int64_t max_queue = 1024;
  double shutdown_timeout_seconds = 30.0;
};

std::string model_id(const ServeOptions& options, const actors::EngineConfig& engine) {
  if (!options.served_model_name.empty()) return options.served_model_name;
  auto dir = engine.model_dir.lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();  // "models/kjv-tiny/"
  return dir.filename().string();
}

// SIGINT and SIGTERM reach a waiting thread through a pipe (the handler only writes a byte,
// which is safe in a signal handler), so the shutdown runs as ordinary code. Handlers, not
// blocked masks: threads that libraries started before main (OpenBLAS) would take a blocked
// signal's default action and kill the process.
class ShutdownSignal {
 public:
  ShutdownSignal() : shared_(std::make_shared<Shared>()) {
    int ends[2];
    if (pipe(ends) != 0) throw Error(ErrorCategory::internal, "serve: cannot create the signal pipe");
    write_end = ends[1];
    struct sigaction action {};
    action.sa_handler = [](int signal) {
      const auto byte = static_cast<char>(signal);
      [[maybe_unused]] const auto written = write(write_end, &byte, 1);
    };
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    // Detached, and owning what it touches: it stays blocked in read() when the server stops
    // for another reason.
    std::thread([shared = shared_, read_end = ends[0]] {
      char signal = 0;
      while (read(read_end, &signal, 1) != 1) {
      }
      if (!shared->serving) {  // nothing to finish while loading: leave at once
        std::fprintf(stderr, "tessera: interrupted while loading\n");
        std::_Exit(128 + signal);
      }
      std::lock_guard lock(shared->mutex);
      shared->received = true;
      shared->changed.notify_all();
    }).detach();
  }
  void serving() { shared_->serving = true; }
  void wait() {
    std::unique_lock lock(shared_->mutex);
    shared_->changed.wait(lock, [this] { return shared_->received; });
  }

 private:
  struct Shared {
    std::atomic<bool> serving{false};
    std::mutex mutex;
    std::condition_variable changed;
    bool received = false;
  };
  static inline int write_end = -1;
  std::shared_ptr<Shared> shared_;
};

// Says how long loading has taken every few seconds, so a big model does not look hung.
class LoadingTicker {
 public:
  explicit LoadingTicker(std::string what) : thread_([this, what = std::move(what)] {
      const auto start = Clock::now();
      std::unique_lock lock(mutex_);
      while (!changed_.wait_for(lock, std::chrono::seconds(5), [this] { return done_; })) {
        const auto seconds = std::chrono::duration<double>(Clock::now() - start).count();
        std::fprintf(stderr, "tessera: still loading %s (%.0f s)\n", what.c_str(), seconds);
      }
    }) {}
  ~LoadingTicker() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
  std::thread thread_;
};

// Requests in flight may finish within the bound; then the engine cancels the rest.
void drain(net::OpenAiService& service, actors::Engine& engine, double timeout_seconds) {
  service.begin_shutdown();
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (service.in_flight() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (service.in_flight() > 0) {
    std::fprintf(stderr, "tessera: cancelling %lld requests still running\n",
                 static_cast<long long>(service.in_flight()));
  }
  engine.shutdown();
  // Cancelled requests' last events are being written; give them a moment to leave.
  for (int i = 0; i < 100 && service.in_flight() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void run_serve(ServeOptions options) {
  if (run_if_worker(options.engine)) return;  // a worker serves no HTTP
  if (options.api_key.empty()) {
    if (const char* key = std::getenv("TESSERA_API_KEY")) options.api_key = key;
  }
  if (options.max_queue < 0) throw Error(ErrorCategory::invalid_argument, "--max-queue must be at least 0");
  if (options.http.max_body_bytes < 1024) {
    throw Error(ErrorCategory::invalid_argument, "--max-body-bytes must be at least 1024");
  }
  if (!(options.shutdown_timeout_seconds >= 0.0)) {
    throw Error(ErrorCategory::invalid_argument, "--shutdown-timeout must be at least 0");
  }
  const auto engine_config = make_engine_config(options.engine);
  ShutdownSignal signal;

  std::atomic<net::OpenAiService*> service{nullptr};
  net::HttpServer server(options.http, [&service](net::HttpRequest&& request,
                                                  std::shared_ptr<net::Responder> responder) {
    if (auto* ready = service.load()) {
      ready->handle(std::move(request), std::move(responder));
    } else {
      net::respond_error(*responder, net::ApiError(503, "the model is still loading"));
    }
  });
  std::fprintf(stderr, "tessera: listening on http://%s:%u\n", options.http.host.c_str(),
               static_cast<unsigned>(server.port()));
  std::fprintf(stderr, "tessera: loading %s on %s\n", engine_config.model_dir.c_str(),
               layout_text(engine_config).c_str());

  std::unique_ptr<actors::Engine> engine;
  {
    LoadingTicker ticker(engine_config.model_dir.string());
    engine = actors::Engine::start(engine_config);
  }
  net::OpenAiServiceOptions service_options;
  service_options.model_id = model_id(options, engine_config);
  service_options.api_key = options.api_key;
  service_options.max_queue = options.max_queue;
  auto api = std::make_unique<net::OpenAiService>(service_options, *engine);
  service = api.get();
  signal.serving();
  std::fprintf(stderr, "tessera: ready, serving model '%s' (context %lld tokens, %lld KV blocks)%s\n",
               service_options.model_id.c_str(), static_cast<long long>(api->context_tokens()),
               static_cast<long long>(engine->kv_blocks()),
               options.api_key.empty() ? "" : ", API key required");

  signal.wait();
  std::fprintf(stderr, "tessera: shutting down\n");
  server.stop_accepting();
  drain(*api, *engine, options.shutdown_timeout_seconds);
  server.stop();
  service = nullptr;
  std::fprintf(stderr, "tessera: stopped\n");
}

void add_serve_command(CLI::App& root) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd = root.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  add_engine_flags(*cmd, EngineCommand::serve, options->engine);
  cmd->add_option("--host", options->http.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", options->http.port, "Port to listen on (0: any free port)")
      ->capture_default_str();
  cmd->add_option("--io-threads", options->http.io_threads, "Threads serving connections")
      ->capture_default_str();
  cmd->add_option("--api-key", options->api_key,
                  "Require 'Authorization: Bearer KEY' on /v1 (default: $TESSERA_API_KEY)");
  cmd->add_option("--served-model-name", options->served_model_name,
                  "Model id in the API (default: the model folder's name)");
  cmd->add_option("--max-body-bytes", options->http.max_body_bytes, "Largest request body accepted")
      ->capture_default_str();
  cmd->add_option("--allowed-origins", options->http.allowed_origins,
                  "Web origins (scheme://host[:port], or * for any) whose pages may call the API "
                  "from a browser (CORS); repeat or separate with commas (default: none)")
      ->delimiter(',');
  cmd->add_option("--max-queue", options->max_queue,
                  "Requests allowed to wait beyond the running batch; more get 429")
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", options->shutdown_timeout_seconds,
                  "Seconds requests in flight get to finish after SIGINT/SIGTERM")
      ->capture_default_str();
  cmd->callback([options] { run_serve(*options); });
}

const CommandRegistration registration{"serve", &add_serve_command};

}  // namespace
}  // namespace tessera::app
