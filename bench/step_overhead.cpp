// Host overhead of one scheduler step with no math: plan (StepPlanner), dispatch to a shard,
// collect its StepResult, and the sampler's bookkeeping and event delivery. The shard is a fake
// detached actor that keeps the block tables and builds the forward batch as a real one does,
// then answers at once with a token per sequence that needs one, so what is measured is
// everything the actors add around a forward pass.
//
// Keeps `running` sequences decoding (each ends after 2000 tokens and is replaced at once), then
// reports the median time per step over 20 windows of 100 ms, and the process's CPU time and
// voluntary context switches per step (steadier than wall time on a machine others load too).
// JSON on stdout.
#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sys/resource.h>
#include <thread>
#include <vector>

#include "actors/block_tables.hpp"
#include "actors/messages.hpp"
#include "actors/request_sink.hpp"
#include "actors/sampler_actor.hpp"
#include "actors/scheduler_actor.hpp"

namespace {

using namespace tessera::actors;
using Clock = std::chrono::steady_clock;

// What a real shard does around its forward pass, on the host: it keeps the block tables from
// the plans' deltas and builds the forward batch (the math and sampling are left out).
struct FakeShardState {
  BlockTables tables;
  tessera::runtime::ForwardBatch batch;
};

caf::behavior fake_shard(caf::event_based_actor*) {
  auto state = std::make_shared<FakeShardState>();
  return {[state](const StepPlan& plan) {
    state->tables.apply(plan);
    make_batch(plan, state->tables, 16, state->batch);
    StepResult result{plan.step, {}};
    result.tokens.reserve(plan.sequences.size());
    for (const auto& seq : plan.sequences) {
      if (seq.needs_token) result.tokens.push_back({seq.seq_id, 7, -0.1f, {}, {}});
    }
    return result;
  }};
}

struct Measurement {
  int running = 0;
  double median_us = 0, p10_us = 0, p90_us = 0;
  std::int64_t steps = 0;
  double cpu_us = 0;           // CPU time of the whole process per step (all threads)
  double switches = 0;         // voluntary context switches per step: the threads' wake-ups
};

// CPU time and voluntary context switches of every thread of this process so far. On a machine
// others load too, these move much less than wall time does.
struct Usage {
  double cpu_us = 0;
  double switches = 0;
};

Usage usage_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto us = [](const timeval& t) { return t.tv_sec * 1e6 + static_cast<double>(t.tv_usec); };
  return {us(u.ru_utime) + us(u.ru_stime), static_cast<double>(u.ru_nvcsw)};
}

std::int64_t steps_of(caf::scoped_actor& self, const caf::actor& scheduler) {
  std::int64_t steps = -1;
  self->request(scheduler, std::chrono::seconds(5), stats_atom::value)
      .receive([&](const EngineStats& s) { steps = s.steps; }, [](caf::error&) {});
  return steps;
}

Measurement measure(caf::actor_system& system, int running) {
  const auto shard = system.spawn<caf::detached>(fake_shard);
  const auto sampler = spawn_sampler(system, SamplerConfig{});
  PlannerConfig planner{static_cast<std::int64_t>(running) * 140, 16, 256, 64, {2}};
  SchedulerConfig config;
  config.planner = planner;
  config.shards = {shard};
  config.sampler = sampler;
  const auto scheduler = spawn_scheduler(system, std::move(config));
  caf::anon_send(sampler, init_atom::value, scheduler);

  std::atomic<std::uint64_t> next_id{1};
  std::atomic<bool> stopping{false};
  std::function<void()> submit = [&] {
    const auto id = next_id++;
    GenerateRequest request;
    request.prompt = {1, 2, 3, 4, 5, 6, 7, 8};
    request.max_tokens = 2000;
    request.ignore_eos = true;
    request.sampling.temperature = 0.0f;
    auto sink = std::make_shared<RequestSink>(
        id, [](const TokenEvent&) {}, [&](const FinalEvent&) {
          if (!stopping) submit();  // keep `running` sequences alive
        });
    caf::anon_send(scheduler, submit_atom::value, id, std::move(request), std::move(sink));
  };
  for (int i = 0; i < running; ++i) submit();

  caf::scoped_actor self{system};
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm up, prefill done
  std::vector<double> per_step;
  std::int64_t total = 0;
  const Usage u0 = usage_now();
  for (int window = 0; window < 20; ++window) {
    const auto s0 = steps_of(self, scheduler);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto s1 = steps_of(self, scheduler);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (s1 > s0) per_step.push_back(us / static_cast<double>(s1 - s0));
    total += s1 - s0;
  }
  const Usage u1 = usage_now();
  stopping = true;
  self->request(scheduler, std::chrono::seconds(1), shutdown_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  self->request(sampler, std::chrono::seconds(1), shutdown_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  for (const auto& a : {scheduler, sampler, shard}) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  std::sort(per_step.begin(), per_step.end());
  Measurement m;
  m.running = running;
  m.steps = total;
  if (total > 0) {
    m.cpu_us = (u1.cpu_us - u0.cpu_us) / static_cast<double>(total);
    m.switches = (u1.switches - u0.switches) / static_cast<double>(total);
  }
  if (!per_step.empty()) {
    m.median_us = per_step[per_step.size() / 2];
    m.p10_us = per_step[per_step.size() / 10];
    m.p90_us = per_step[per_step.size() * 9 / 10];
  }
  return m;
}

}  // namespace

// Arguments: the numbers of running sequences to measure (default 1 and 64), e.g. `64` alone to
// profile one case.
int main(int argc, char** argv) {
  std::vector<int> counts;
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    const long n = std::strtol(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || n < 1 || n > 4096) {
      std::fprintf(stderr, "step_overhead: argument %d ('%s') must be a number of running "
                           "sequences in 1..4096\n", i, argv[i]);
      return 2;
    }
    counts.push_back(static_cast<int>(n));
  }
  if (counts.empty()) counts = {1, 64};
  caf::actor_system_config cfg;
  configure_actor_system(cfg);  // the Engine's own settings
  std::vector<Measurement> results;
  {
    caf::actor_system system{cfg};
    for (const int running : counts) results.push_back(measure(system, running));
  }
  std::printf("{\"bench\": \"step_overhead\", \"hardware_threads\": %u, \"results\": [",
              std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& m = results[i];
    std::printf("%s\n  {\"running\": %d, \"median_us_per_step\": %.2f, \"p10_us\": %.2f, "
                "\"p90_us\": %.2f, \"steps\": %lld, \"cpu_us_per_step\": %.2f, "
                "\"context_switches_per_step\": %.2f}",
                i ? "," : "", m.running, m.median_us, m.p10_us, m.p90_us,
                static_cast<long long>(m.steps), m.cpu_us, m.switches);
  }
  std::printf("\n]}\n");
  return 0;
}
