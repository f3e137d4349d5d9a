#pragma once
// The one scheduler: admission, queues and KV blocks (through StepPlanner), one step in flight at
// a time. It sends each plan to every shard, launches the next step as soon as the driver
// rank's result arrives and hands the tokens to the sampler without waiting for it.
//
// Protocol: (submit_atom, id, GenerateRequest, RequestSinkPtr), (cancel_atom, id),
// (finished_atom, id) from the sampler (a stop string), stats_atom -> EngineStats,
// shutdown_atom -> ends every request as "cancelled" and stops planning.
//
// On a cluster head (SchedulerConfig::recovery) it also rides out a lost worker
// (scheduler_recovery.cpp):
//   (mn_lost_atom, worker_id, name, reason) from a head node link: the group is broken. Every
//     sequence that reached the shards fails at once ("the cluster is unavailable: worker 0 …
//     was lost"); queued and new requests wait, each at most recovery_timeout, then fail alike.
//     A failed step without a known loss also breaks the group (its ranks' collectives may be out
//     of step): its sequences fail once `settle` has passed without news of a lost worker, and
//     so do the other started ones (the new group keeps no per-sequence state).
//   mn_back_atom from the rendezvous: every lost worker is back. Once no step is in flight, every
//     rank (the head's shards, and each worker's through its node link) joins a new group under
//     a fresh store prefix (regroup_atom), ranks without the agreed KV pool allocate it, and
//     planning resumes. A failed attempt is retried while no worker is missing.
// The health board tells every thread which of these states the cluster is in.
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/cluster_health.hpp"
#include "actors/step_planner.hpp"

namespace tessera::actors {

struct RecoveryConfig {
  std::chrono::milliseconds recovery_timeout{30000};  // a request's longest wait for re-forming
  std::chrono::milliseconds start_timeout{120000};    // each round of re-forming
  // How long a failed step waits for a node link to name a lost worker before its requests fail
  // with the step's own error (a killed worker's Gloo peers often notice a few ms before CAF).
  std::chrono::milliseconds settle{300};
  std::chrono::milliseconds retry{1000};  // between attempts to re-form
  std::shared_ptr<HealthBoard> health;    // written here, read anywhere
};

struct SchedulerConfig {
  PlannerConfig planner;
  std::vector<caf::actor> shards;  // rank order
  // Which of them answers a step with its StepResult (driver_shard in shard_configs.hpp); the
  // others acknowledge.
  std::size_t driver = 0;
  caf::actor sampler;
  std::chrono::milliseconds step_timeout{300000};  // a step slower than this fails its requests
  std::optional<RecoveryConfig> recovery;          // a cluster head's; none on a single node
};

caf::actor spawn_scheduler(caf::actor_system& system, SchedulerConfig config);

}  // namespace tessera::actors
