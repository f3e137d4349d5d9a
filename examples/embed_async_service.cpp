// An asynchronous service embedding one tessera Engine: a few client threads submit many
// requests concurrently, events arrive through callbacks on the engine's threads, and a small
// completion queue (the service's own event loop) collects the results and prints them.
//
//   embed_async_service --model DIR [--requests N] [--clients C] [--max-tokens M]
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/engine.hpp"

namespace {

using tessera::actors::Engine;
using tessera::actors::EngineConfig;
using tessera::actors::FinalEvent;
using tessera::actors::GenerateRequest;
using tessera::actors::TokenEvent;

struct Options {
  std::string model;
  int requests = 32;
  int clients = 4;
  std::int64_t max_tokens = 16;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") {
      o.model = value();
    } else if (arg == "--requests") {
      o.requests = std::stoi(value());
    } else if (arg == "--clients") {
      o.clients = std::stoi(value());
    } else if (arg == "--max-tokens") {
      o.max_tokens = std::stoll(value());
    } else {
      throw std::runtime_error("unknown argument " + arg);
    }
  }
  if (o.model.empty()) throw std::runtime_error("--model DIR is required");
  if (o.requests < 1 || o.clients < 1 || o.max_tokens < 1) {
    throw std::runtime_error("--requests, --clients and --max-tokens must be positive");
  }
  return o;
}

// What the callbacks hand to the service loop: the engine's threads never do service work.
struct Completion {
  FinalEvent final;
  std::vector<std::int32_t> tokens;
  std::string text;
};

class CompletionQueue {
 public:
  void push(Completion c) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(c));
    }
    cv_.notify_one();
  }
  bool pop(Completion& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return false;
    out = std::move(items_.front());
    items_.pop_front();
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Completion> items_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    EngineConfig config;
    config.model_dir = options.model;
    auto engine = Engine::start(config);
    const auto vocab = engine->model_config().vocab_size;

    CompletionQueue done;
    std::atomic<int> next{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < options.clients; ++c) {
      clients.emplace_back([&] {
        for (int i = next++; i < options.requests; i = next++) {
          GenerateRequest request;
          for (int t = 0; t < 4 + i % 5; ++t) {
            request.prompt.push_back(static_cast<std::int32_t>((7 * i + 13 * t + 3) % vocab));
          }
          request.max_tokens = options.max_tokens;
          request.sampling.temperature = i % 2 == 0 ? 0.0f : 0.8f;
          request.sampling.seed = static_cast<std::uint64_t>(i);
          // Token events of one request arrive in order on one thread at a time; the partial
          // result lives in the callbacks' shared state until the final event hands it over.
          auto partial = std::make_shared<Completion>();
          engine->submit(
              std::move(request),
              [partial](const TokenEvent& e) {
                partial->tokens.insert(partial->tokens.end(), e.token_ids.begin(),
                                       e.token_ids.end());
                partial->text += e.text;
              },
              [partial, &done](const FinalEvent& e) {
                partial->final = e;
                done.push(std::move(*partial));
              });
        }
      });
    }
    for (auto& t : clients) t.join();

    int received = 0;
    int failed = 0;
    while (received < options.requests) {
      Completion c;
      if (!done.pop(c, std::chrono::seconds(60))) {
        std::cerr << "timed out waiting for results\n";
        return 1;
      }
      ++received;
      if (c.final.finish_reason == "error") ++failed;
      std::cout << "request " << c.final.request_id << ": " << c.final.finish_reason << ", "
                << c.final.completion_tokens << " tokens [";
      for (std::size_t i = 0; i < c.tokens.size(); ++i) std::cout << (i ? " " : "") << c.tokens[i];
      std::cout << "]";
      if (!c.text.empty()) std::cout << " \"" << c.text << "\"";
      if (!c.final.failure.message.empty()) std::cout << " error: " << c.final.failure.message;
      std::cout << "\n";
    }
    const auto stats = engine->stats();
    std::cout << "steps " << stats.steps << ", preemptions " << stats.preemptions
              << ", free blocks " << stats.free_blocks << "/" << stats.total_blocks << "\n";
    engine->shutdown();
    return failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "embed_async_service: " << e.what() << "\n";
    return 2;
  }
}
