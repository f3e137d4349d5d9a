#pragma once
// The actor-system side of being a cluster node, shared by the head and the workers: CAF's
// middleman with heartbeats, the message types, and reaching the head with a deadline.
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "net/cluster/cluster_config.hpp"

namespace tessera::net {

// Everything configure_actor_system (actors/) sets, plus the cluster's message types, the
// middleman, and heartbeats on this side of every connection (the peer sets its own).
void configure_cluster_system(caf::actor_system_config& cfg, const ClusterConfig& cluster);

// The head's rendezvous actor. Retries with backoff until cluster.join_timeout has passed, so a
// worker may start before its head; throws Error(io) naming the address and the last failure.
caf::actor connect_to_head(caf::actor_system& system, const ClusterConfig& cluster);

}  // namespace tessera::net
