// Host overhead of one scheduler step with no math: plan (StepPlanner), dispatch to a shard,
// collect its StepResult, and the sampler's bookkeeping and event delivery. The shard is a fake
// detached actor that answers every plan at once with a token per sequence that needs one, so
// what is measured is everything the actors add around a forward pass.
//
// Keeps `running` sequences decoding (each ends after 2000 tokens and is replaced at once), then
// reports the median time per step over 20 windows of 100 ms. JSON on stdout.
#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "actors/messages.hpp"
#include "actors/request_sink.hpp"
#include "actors/sampler_actor.hpp"
#include "actors/scheduler_actor.hpp"

namespace {

using namespace tessera::actors;
using Clock = std::chrono::steady_clock;

caf::behavior fake_shard(caf::event_based_actor*) {
  return {[](const StepPlan& plan) {
    StepResult result{plan.step, {}};
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
};

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
  const auto scheduler = spawn_scheduler(system, SchedulerConfig{planner, {shard}, sampler});
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
  for (int window = 0; window < 20; ++window) {
    const auto s0 = steps_of(self, scheduler);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto s1 = steps_of(self, scheduler);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (s1 > s0) per_step.push_back(us / static_cast<double>(s1 - s0));
    total += s1 - s0;
  }
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
  if (!per_step.empty()) {
    m.median_us = per_step[per_step.size() / 2];
    m.p10_us = per_step[per_step.size() / 10];
    m.p90_us = per_step[per_step.size() * 9 / 10];
  }
  return m;
}

}  // namespace

int main() {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);  // the Engine's own settings
  std::vector<Measurement> results;
  {
    caf::actor_system system{cfg};
    for (const int running : {1, 64}) results.push_back(measure(system, running));
  }
  std::printf("{\"bench\": \"step_overhead\", \"hardware_threads\": %u, \"results\": [",
              std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& m = results[i];
    std::printf("%s\n  {\"running\": %d, \"median_us_per_step\": %.2f, \"p10_us\": %.2f, "
                "\"p90_us\": %.2f, \"steps\": %lld}",
                i ? "," : "", m.running, m.median_us, m.p10_us, m.p90_us,
                static_cast<long long>(m.steps));
  }
  std::printf("\n]}\n");
  return 0;
}
