#pragma once
// What `worker`, and `serve` or `generate` with worker settings, run: this process as a worker.
#include "app/commands/engine_flags.hpp"
#include "net/cluster/cluster_config.hpp"

namespace tessera::app {

// Joins the head that `cluster` names and serves its steps until the head goes away. Throws
// Error naming the flag, the unreachable head, or the reason the head refused this worker.
void run_worker_mode(const EngineFlags& engine, const net::ClusterConfig& cluster);

// For `serve` and `generate`: when the flags or environment make this process a worker, runs it
// as one (run_worker_mode) and returns true; otherwise returns false at once.
bool run_if_worker(const EngineFlags& engine);

}  // namespace tessera::app
