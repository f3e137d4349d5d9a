#pragma once
// The one scheduler: admission, queues and KV blocks (through StepPlanner), one step in flight at
// a time. It sends each plan to every shard, launches the next step as soon as rank 0's result
// arrives and hands the tokens to the sampler without waiting for it.
//
// Protocol: (submit_atom, id, GenerateRequest, RequestSinkPtr), (cancel_atom, id),
// (finished_atom, id) from the sampler (a stop string), stats_atom -> EngineStats,
// shutdown_atom -> ends every request as "cancelled" and stops planning.
#include <chrono>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/step_planner.hpp"

namespace tessera::actors {

struct SchedulerConfig {
  PlannerConfig planner;
  std::vector<caf::actor> shards;  // rank order
  caf::actor sampler;
  std::chrono::milliseconds step_timeout{300000};  // a step slower than this fails its requests
};

caf::actor spawn_scheduler(caf::actor_system& system, SchedulerConfig config);

}  // namespace tessera::actors
