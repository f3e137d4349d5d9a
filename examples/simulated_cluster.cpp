// A whole cluster on one machine: this process is the head (an Engine with a cluster head part,
// as `tessera serve` builds it) and starts N workers as separate `tessera worker` processes,
// all on the CPU backend with Gloo over loopback. It sends a few greedy requests to the head only
// and prints what each request took and what every rank and node did.
//
//   simulated_cluster MODEL_DIR [--workers N] [--ranks-per-node R] [--requests K]
//                     [--max-tokens T] [--tessera PATH]
//
// Every rank takes part in every step (tensor parallelism runs in lockstep), so the step count
// is the scheduler's, shared by all ranks; CPU time is measured per process (getrusage/wait4).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/engine.hpp"
#include "net/cluster/bind_address.hpp"
#include "net/cluster/cluster_config.hpp"
#include "net/cluster/head_node.hpp"
#include "net/cluster/node_fingerprint.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Options {
  fs::path model_dir;
  int workers = 1;
  int ranks_per_node = 1;
  int requests = 3;
  int max_tokens = 16;
  std::string tessera = TESSERA_BINARY;  // the `tessera` built beside this example
};

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

// One `tessera worker` process. Its log lines ("tessera: worker 0 ...") go to our stderr.
struct Worker {
  int id = 0;
  pid_t pid = -1;
  std::optional<int> exit_code;
  double cpu_seconds = 0.0;

  void start(const Options& o, int port, const std::string& secret) {
    const std::vector<std::string> args{o.tessera, "worker", "--model", o.model_dir.string(),
                                        "--device", "cpu", "--tp", std::to_string(o.ranks_per_node)};
    pid = ::fork();
    if (pid == 0) {
      ::setenv("TESSERA_MN_WORKER_ID", std::to_string(id).c_str(), 1);
      ::setenv("TESSERA_MN_WORKER_SERVER_ADDR", ("127.0.0.1:" + std::to_string(port)).c_str(), 1);
      ::setenv("TESSERA_CLUSTER_SECRET", secret.c_str(), 1);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::fprintf(stderr, "cannot run %s\n", args[0].c_str());
      ::_exit(127);
    }
  }
  // Reaps the process (and its CPU time) if it ended; true once it has.
  bool reap(bool block) {
    if (exit_code || pid <= 0) return true;
    int status = 0;
    rusage usage{};
    if (::wait4(pid, &status, block ? 0 : WNOHANG, &usage) != pid) return false;
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    return true;
  }
  // Waits up to `timeout` for it to end by itself, then kills it.
  void stop(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!reap(false) && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!exit_code) {
      ::kill(pid, SIGKILL);
      reap(true);
    }
  }
};

struct RequestReport {
  std::vector<std::int32_t> prompt;
  std::vector<std::int32_t> tokens;
  std::string finish_reason;
  std::string error;
  double seconds = 0.0;
  double first_token_seconds = 0.0;
  std::int64_t steps = 0;
};

RequestReport run_request(tessera::actors::Engine& engine, std::vector<std::int32_t> prompt,
                          int max_tokens) {
  RequestReport report;
  report.prompt = prompt;
  tessera::actors::GenerateRequest request;
  request.prompt = std::move(prompt);
  request.max_tokens = max_tokens;
  request.sampling.temperature = 0.0f;  // greedy: the same tokens as one process would give
  const std::int64_t steps_before = engine.stats().steps;
  std::promise<tessera::actors::FinalEvent> done;
  std::mutex mutex;
  const auto start = Clock::now();
  engine.submit(
      std::move(request),
      [&](const tessera::actors::TokenEvent& event) {
        std::lock_guard lock(mutex);
        if (report.tokens.empty()) report.first_token_seconds = std::chrono::duration<double>(Clock::now() - start).count();
        report.tokens.insert(report.tokens.end(), event.token_ids.begin(), event.token_ids.end());
      },
      [&](const tessera::actors::FinalEvent& final) { done.set_value(final); });
  auto finished = done.get_future();
  if (finished.wait_for(std::chrono::minutes(2)) != std::future_status::ready) {
    report.error = "no answer within 2 minutes";
    return report;
  }
  const auto final = finished.get();
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.finish_reason = final.finish_reason;
  report.error = final.failure.message;
  report.steps = engine.stats().steps - steps_before;
  return report;
}

std::string ids(const std::vector<std::int32_t>& v) {
  std::string text;
  for (const auto id : v) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text;
}

std::string rank_range(int first, int count) {
  return count == 1 ? std::to_string(first)
                    : std::to_string(first) + "-" + std::to_string(first + count - 1);
}

int run(const Options& o) {
  const int port = tessera::net::free_loopback_port();
  const std::string secret = "simulated-" + std::to_string(::getpid());
  const int world = o.ranks_per_node * (o.workers + 1);

  tessera::net::ClusterConfig cluster;
  cluster.role = tessera::net::ClusterRole::head;
  cluster.global_world_size = world;
  cluster.head_num_workers = o.workers;
  cluster.head_port = static_cast<std::uint16_t>(port);
  cluster.secret = secret;
  cluster.join_timeout = std::chrono::seconds(60);

  tessera::actors::EngineConfig config;
  config.model_dir = o.model_dir;
  config.tensor_parallel = o.ranks_per_node;
  config.device = tessera::actors::DeviceKind::cpu;
  config.start_timeout = std::chrono::seconds(60);
  config.cluster = tessera::net::make_head_node(cluster, config,
                                                tessera::net::make_fingerprint(config.model_dir, "cpu"));

  std::printf("simulated cluster: head (this process, pid %d) + %d worker process(es), %d rank(s) "
              "each, %d ranks in all; CPU backend, Gloo over 127.0.0.1, rendezvous on port %d\n",
              static_cast<int>(::getpid()), o.workers, o.ranks_per_node, world, port);
  std::fflush(stdout);
  std::vector<Worker> workers(static_cast<std::size_t>(o.workers));
  for (int i = 0; i < o.workers; ++i) {
    workers[static_cast<std::size_t>(i)].id = i;
    workers[static_cast<std::size_t>(i)].start(o, port, secret);
  }
  // Whatever happens below, no worker outlives this process (after a normal end they have
  // already stopped by themselves, and this does nothing).
  struct Reaper {
    std::vector<Worker>& workers;
    ~Reaper() {
      for (auto& w : workers) w.stop(std::chrono::seconds(2));
    }
  } reaper{workers};

  const auto started = Clock::now();
  auto engine = tessera::actors::Engine::start(config);  // waits for every worker
  std::printf("cluster formed in %.2f s\n\n", std::chrono::duration<double>(Clock::now() - started).count());

  std::vector<RequestReport> reports;
  bool all_ok = true;
  for (int r = 0; r < o.requests; ++r) {
    std::vector<std::int32_t> prompt;
    for (int t = 0; t < 3 + r; ++t) prompt.push_back(1 + 7 * r + t);
    reports.push_back(run_request(*engine, prompt, o.max_tokens));
    const auto& rep = reports.back();
    all_ok = all_ok && rep.error.empty() && !rep.tokens.empty();
    const double decode = rep.tokens.size() > 1 ? (rep.seconds - rep.first_token_seconds) /
                                                      static_cast<double>(rep.tokens.size() - 1)
                                                : 0.0;
    std::printf("request %d: prompt [%s] -> %zu tokens [%s] (%s%s%s)\n  %.3f s, first token %.1f ms, "
                "%.2f ms per decode step, %lld steps\n",
                r, ids(rep.prompt).c_str(), rep.tokens.size(), ids(rep.tokens).c_str(),
                rep.finish_reason.c_str(), rep.error.empty() ? "" : ": ", rep.error.c_str(), rep.seconds,
                rep.first_token_seconds * 1e3, decode * 1e3, static_cast<long long>(rep.steps));
  }
  std::int64_t steps = 0;
  std::size_t tokens = 0;
  double busy = 0.0;
  for (const auto& rep : reports) {
    steps += rep.steps;
    tokens += rep.tokens.size();
    busy += rep.seconds;
  }
  const auto ranks = engine->ranks();  // the head's ranks, then one report per worker node
  engine->shutdown();  // the workers see the head go and stop by themselves
  engine.reset();
  for (auto& w : workers) w.stop(std::chrono::seconds(20));
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);

  std::printf("\nevery rank ran all %lld steps (lockstep), generating %zu tokens in %.3f s of requests\n",
              static_cast<long long>(steps), tokens, busy);
  std::printf("%-10s %-8s %-9s %-8s %-10s %s\n", "node", "pid", "ranks", "device", "kv blocks",
              "cpu s (whole process)");
  std::printf("%-10s %-8d %-9s %-8s %-10lld %.2f\n", "head", static_cast<int>(::getpid()),
              rank_range(0, o.ranks_per_node).c_str(), ranks.empty() ? "?" : ranks[0].device.c_str(),
              static_cast<long long>(ranks.empty() ? 0 : ranks[0].kv_blocks),
              seconds(self.ru_utime) + seconds(self.ru_stime));
  for (const auto& w : workers) {
    const std::size_t at = static_cast<std::size_t>(o.ranks_per_node + w.id);
    const bool known = at < ranks.size();
    std::printf("%-10s %-8d %-9s %-8s %-10lld %.2f (exit %d)\n",
                ("worker " + std::to_string(w.id)).c_str(), static_cast<int>(w.pid),
                rank_range(o.ranks_per_node * (w.id + 1), o.ranks_per_node).c_str(),
                known ? ranks[at].device.c_str() : "?",
                static_cast<long long>(known ? ranks[at].kv_blocks : 0), w.cpu_seconds,
                w.exit_code.value_or(-1));
    all_ok = all_ok && w.exit_code == 0;
  }
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Starts a cluster head (this process) and N `tessera worker` processes on this "
               "machine (CPU backend, Gloo over loopback), sends a few greedy requests to the head "
               "only, and prints what each request took and what every rank and node did. Exits "
               "1 if a request or a worker failed.",
               "simulated_cluster"};
  app.add_option("model_dir", o.model_dir, "Model directory (config.json, safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--workers", o.workers,
                 "Worker processes; (workers + 1) * ranks-per-node must divide the model's heads")
      ->check(CLI::Range(1, 16));
  app.add_option("--ranks-per-node", o.ranks_per_node, "Tensor-parallel ranks in each process")
      ->check(CLI::Range(1, 8));
  app.add_option("--requests", o.requests, "Requests, sent one after another")->check(CLI::Range(1, 100));
  app.add_option("--max-tokens", o.max_tokens, "Tokens generated per request")->check(CLI::Range(1, 4096));
  app.add_option("--tessera", o.tessera, "The tessera binary the workers run")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "simulated_cluster: %s\n", e.what());
    return 1;
  }
}
