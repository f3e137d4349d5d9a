#pragma once
// The scheduler actor's state, shared by scheduler_actor.cpp (planning and steps) and
// scheduler_recovery.cpp (a cluster head's loss and re-forming). Internal to actors/.
#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "actors/cluster_health.hpp"
#include "actors/message_data.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/step_planner.hpp"
#include "actors/step_watch.hpp"

namespace tessera::actors {

// A cluster head's group while it is broken, and how it re-forms.
struct Outage {
  bool broken = false;
  std::string cause;  // why it broke first: a lost worker, or a failed step
  SystemClock::time_point since;
  std::uint64_t epoch = 0;  // counts outages; a queued request's expiry names the one it waited in
  std::map<std::int32_t, MissingWorker> missing;
  bool regrouping = false;
  std::int64_t generation = 0;  // the current group's store prefix is "tessera.g<generation>"
  std::int64_t reformations = 0;
  std::string last_failure;  // of the last attempt to re-form
  bool settling = false;     // a failed step waits for news of a lost worker
  std::vector<std::pair<std::vector<std::uint64_t>, Failure>> failed_steps;
};

struct SchedulerState {
  SchedulerConfig config;
  std::optional<StepPlanner> planner;  // built from the config when the actor starts
  bool in_flight = false;
  StepWatch watch;  // step_timeout for the step in flight (one timer, not one per request)
  bool stopping = false;
  std::int64_t steps = 0;
  // Sequences some step carried: their KV state lives on the ranks, so a lost worker ends them.
  std::unordered_set<std::uint64_t> started;
  Outage outage;
  static inline const char* name = "tessera.scheduler";
};

using SchedulerActor = caf::stateful_actor<SchedulerState>;

// scheduler_actor.cpp
void kick(SchedulerActor* self);
void send_to_sampler(SchedulerActor* self, SamplerBatch batch);
// Ends `id` with an error when the planner still knows it; whether it did.
bool end_with_error(SchedulerActor* self, std::uint64_t id, const Failure& failure,
                    SamplerBatch& batch);

// scheduler_recovery.cpp (every one a no-op on a single node)
bool recovering(const SchedulerActor* self);  // a cluster head whose group is broken
void on_step_failed(SchedulerActor* self, const std::vector<std::uint64_t>& ids,
                    const Failure& failure);
void on_idle(SchedulerActor* self);  // no step in flight any more: re-form if it may
void on_queued(SchedulerActor* self, std::uint64_t id);  // a request waits while broken
caf::message_handler recovery_handlers(SchedulerActor* self);  // mn_lost, mn_back, …
void publish_health(SchedulerActor* self);

}  // namespace tessera::actors
