// What spreading a tensor-parallel group over two processes adds to each decode step: the same
// two ranks run once as one process (TP=2, Gloo between threads) and once as a cluster head with
// one rank plus a `tessera worker` process with the other (CAF node link for the step plan, Gloo
// over loopback TCP for the collectives). Batch 1: one greedy request at a time, ignoring EOS.
//
//   cluster_step_latency [MODEL_DIR] [--runs N] [--tokens T] [--tessera PATH]
//
// Per request, the decode step time is (last token - first token) / (tokens - 1): the first token
// (prefill) is left out. Each mode runs one warm-up request and then N measured ones; JSON on
// stdout with the median, p10 and p90 over the N requests and the median difference.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/engine.hpp"
#include "net/cluster/bind_address.hpp"
#include "net/cluster/cluster_config.hpp"
#include "net/cluster/head_node.hpp"
#include "net/cluster/node_fingerprint.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace tessera;

struct Options {
  std::string model_dir = TESSERA_SOURCE_DIR "/models/kjv-tiny";
  int runs = 15;
  int tokens = 64;
  std::string tessera = TESSERA_BINARY;
};

// Milliseconds per decode step of one greedy request of `tokens` tokens.
double decode_step_ms(actors::Engine& engine, int tokens) {
  actors::GenerateRequest request;
  request.prompt = {1, 2, 3, 4, 5, 6, 7, 8};
  request.max_tokens = tokens;
  request.ignore_eos = true;
  request.sampling.temperature = 0.0f;
  std::mutex mutex;
  Clock::time_point first, last;
  std::int64_t seen = 0;
  std::promise<actors::FinalEvent> done;
  engine.submit(
      std::move(request),
      [&](const actors::TokenEvent& event) {
        std::lock_guard lock(mutex);
        const auto now = Clock::now();
        if (seen == 0) first = now;
        last = now;
        seen += static_cast<std::int64_t>(event.token_ids.size());
      },
      [&](const actors::FinalEvent& final) { done.set_value(final); });
  auto future = done.get_future();
  if (future.wait_for(std::chrono::minutes(5)) != std::future_status::ready) {
    throw std::runtime_error("a request got no answer within 5 minutes");
  }
  const auto final = future.get();
  if (final.finish_reason != "length" || seen != tokens) {
    throw std::runtime_error("request ended '" + final.finish_reason + "' after " +
                             std::to_string(seen) + " tokens: " + final.failure.message);
  }
  return std::chrono::duration<double, std::milli>(last - first).count() /
         static_cast<double>(tokens - 1);
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

nlohmann::json summary(const std::vector<double>& ms) {
  return {{"median_ms_per_step", quantile(ms, 0.5)},
          {"p10_ms_per_step", quantile(ms, 0.1)},
          {"p90_ms_per_step", quantile(ms, 0.9)},
          {"runs_ms_per_step", ms}};
}

std::vector<double> measure(actors::Engine& engine, const Options& o) {
  decode_step_ms(engine, o.tokens);  // warm-up: caches, the allocator, the first connections
  std::vector<double> ms;
  for (int i = 0; i < o.runs; ++i) ms.push_back(decode_step_ms(engine, o.tokens));
  return ms;
}

actors::EngineConfig engine_config(const Options& o, int ranks) {
  actors::EngineConfig config;
  config.model_dir = o.model_dir;
  config.tensor_parallel = ranks;
  config.device = actors::DeviceKind::cpu;
  config.start_timeout = std::chrono::seconds(60);
  return config;
}

std::vector<double> single_process(const Options& o) {
  auto engine = actors::Engine::start(engine_config(o, 2));
  return measure(*engine, o);
}

std::vector<double> head_and_worker(const Options& o) {
  const int port = net::free_loopback_port();
  const std::string secret = "bench-" + std::to_string(::getpid());
  const pid_t worker = ::fork();
  if (worker == 0) {
    ::setenv("TESSERA_MN_WORKER_ID", "0", 1);
    ::setenv("TESSERA_MN_WORKER_SERVER_ADDR", ("127.0.0.1:" + std::to_string(port)).c_str(), 1);
    ::setenv("TESSERA_CLUSTER_SECRET", secret.c_str(), 1);
    std::freopen("/dev/null", "w", stderr);
    ::execl(o.tessera.c_str(), o.tessera.c_str(), "worker", "--model", o.model_dir.c_str(),
            "--device", "cpu", "--tp", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::vector<double> ms;
  try {
    net::ClusterConfig cluster;
    cluster.role = net::ClusterRole::head;
    cluster.global_world_size = 2;
    cluster.head_num_workers = 1;
    cluster.head_port = static_cast<std::uint16_t>(port);
    cluster.secret = secret;
    cluster.join_timeout = std::chrono::seconds(60);
    auto config = engine_config(o, 1);
    config.cluster = net::make_head_node(cluster, config, net::make_fingerprint(config.model_dir, "cpu"));
    auto engine = actors::Engine::start(config);
    ms = measure(*engine, o);
  } catch (...) {
    ::kill(worker, SIGKILL);
    ::waitpid(worker, nullptr, 0);
    throw;
  }
  // The worker stops by itself once the head's engine has gone; bounded all the same.
  bool reaped = false;
  for (int i = 0; i < 500 && !reaped; ++i) {
    reaped = ::waitpid(worker, nullptr, WNOHANG) == worker;
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!reaped) {
    ::kill(worker, SIGKILL);
    ::waitpid(worker, nullptr, 0);
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--runs" && has_value) {
      o.runs = std::atoi(argv[++i]);
    } else if (arg == "--tokens" && has_value) {
      o.tokens = std::atoi(argv[++i]);
    } else if (arg == "--tessera" && has_value) {
      o.tessera = argv[++i];
    } else if (!arg.empty() && arg[0] != '-') {
      o.model_dir = arg;
    } else {
      std::fprintf(stderr, "usage: %s [MODEL_DIR] [--runs N] [--tokens T] [--tessera PATH]\n", argv[0]);
      return 2;
    }
  }
  if (o.runs < 1 || o.tokens < 2) {
    std::fprintf(stderr, "cluster_step_latency: --runs must be at least 1 and --tokens at least 2\n");
    return 2;
  }
  try {
    const auto single = single_process(o);
    const auto cluster = head_and_worker(o);
    const nlohmann::json out = {
        {"bench", "cluster_step_latency"},
        {"model", o.model_dir},
        {"batch", 1},
        {"tensor_parallel", 2},
        {"tokens_per_request", o.tokens},
        {"runs", o.runs},
        {"single_process_tp2", summary(single)},
        {"head_plus_one_worker_loopback", summary(cluster)},
        {"added_ms_per_step", quantile(cluster, 0.5) - quantile(single, 0.5)}};
    std::printf("%s\n", out.dump(2).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster_step_latency: %s\n", e.what());
    return 1;
  }
  return 0;
}
