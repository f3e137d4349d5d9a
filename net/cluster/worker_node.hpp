#pragma once
// A worker process: reaches the head (retrying until the join timeout, so start order does not
// matter), proves it belongs (secret, fingerprint), receives its global ranks, starts a shard
// per local rank behind a worker node link, and serves the head's steps until the head goes
// away. A worker runs no HTTP server and takes no requests of its own.
#include "actors/engine_config.hpp"
#include "net/cluster/cluster_config.hpp"

namespace tessera::net {

// Returns when the head goes away (shut down or lost). Throws Error when the head cannot be
// reached, refuses this worker (the reason, as the head logged it), or the cluster does not form
// within cluster.join_timeout. `engine` gives the model, the local rank count (tensor_parallel),
// the KV budget and the timeouts; its device must be cpu (cluster_device).
void run_worker(const actors::EngineConfig& engine, const ClusterConfig& cluster);

}  // namespace tessera::net
