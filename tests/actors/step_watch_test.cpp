// The scheduler's step timeout: one timer for the step in flight, and a step whose rank 0 never
// answers fails its requests after step_timeout (the scheduler then carries on with the next).
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <mutex>

#include "actors/messages.hpp"
#include "actors/request_sink.hpp"
#include "actors/sampler_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/step_watch.hpp"

namespace tessera::actors {
namespace {

using namespace std::chrono_literals;
using Clock = StepWatch::Clock;

StepWatch::Ids ids_of(std::vector<std::uint64_t> ids) {
  return std::make_shared<const std::vector<std::uint64_t>>(std::move(ids));
}

TEST(StepWatch, OneTimerFollowsTheStepInFlight) {
  StepWatch watch(10s);
  const Clock::time_point t0{};
  ASSERT_EQ(watch.started(1, ids_of({7}), t0), Clock::duration(10s));  // arms
  EXPECT_TRUE(watch.end(1));
  EXPECT_FALSE(watch.started(2, ids_of({7}), t0 + 4s).has_value());  // still armed
  // The timer set at t0 fires at t0 + 10 s: step 2 has 4 s left.
  auto fired = watch.fired(t0 + 10s);
  EXPECT_FALSE(fired.overrun.has_value());
  ASSERT_TRUE(fired.rearm.has_value());
  EXPECT_EQ(*fired.rearm, Clock::duration(4s));
  fired = watch.fired(t0 + 14s);
  ASSERT_TRUE(fired.overrun.has_value());
  EXPECT_EQ(fired.overrun->step, 2u);
  EXPECT_EQ(*fired.overrun->ids, std::vector<std::uint64_t>{7});
  EXPECT_FALSE(fired.rearm.has_value());
  EXPECT_FALSE(watch.end(2));  // its late answer changes nothing
  // Idle when the timer fires: nothing to do, and the next step arms it again.
  ASSERT_TRUE(watch.started(3, ids_of({}), t0 + 15s).has_value());
  EXPECT_TRUE(watch.end(3));
  fired = watch.fired(t0 + 25s);
  EXPECT_FALSE(fired.overrun.has_value());
  EXPECT_FALSE(fired.rearm.has_value());
  EXPECT_TRUE(watch.started(4, ids_of({}), t0 + 26s).has_value());
}

// A rank 0 that takes every plan and never answers.
caf::behavior silent_shard(caf::event_based_actor* self) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  return {[=](const StepPlan&) { held->push_back(self->make_response_promise()); }};
}

TEST(StepWatch, AStepOverTheTimeoutFailsItsRequests) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  const auto shard = system.spawn(silent_shard);
  const auto sampler = spawn_sampler(system, SamplerConfig{});
  SchedulerConfig config;
  config.planner = PlannerConfig{16, 4, 64, 8, {2}};
  config.shards = {shard};
  config.sampler = sampler;
  config.step_timeout = 200ms;
  const auto scheduler = spawn_scheduler(system, std::move(config));
  caf::anon_send(sampler, init_atom::value, scheduler);

  GenerateRequest request;
  request.prompt = {1, 2, 3};
  request.max_tokens = 4;
  auto sink = std::make_shared<RequestSink>(1, nullptr, nullptr);
  const auto sent = Clock::now();
  caf::anon_send(scheduler, submit_atom::value, std::uint64_t{1}, request, sink);
  const auto final = sink->wait_for(10s);
  const auto waited = Clock::now() - sent;
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(final->finish_reason, "error");
  EXPECT_NE(final->failure.message.find("step timeout"), std::string::npos) << final->failure.message;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 5s);

  for (const auto& a : {scheduler, sampler, shard}) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
}

}  // namespace
}  // namespace tessera::actors
