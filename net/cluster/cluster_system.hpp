#pragma once
// The actor-system side of being a cluster node, shared by the head and the workers: CAF's
// middleman with heartbeats, the message types, TLS when configured, and reaching the head with a
// deadline.
#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <cstdint>

#include "net/cluster/cluster_config.hpp"

namespace tessera::net {

// Everything configure_actor_system (actors/) sets, plus the cluster's message types, the
// middleman, and heartbeats on this side of every connection (the peer sets its own). With
// cluster.tls enabled also caf-openssl's manager and this node's certificate, key and CA.
void configure_cluster_system(caf::actor_system_config& cfg, const ClusterConfig& cluster);

// Publishes the head's rendezvous actor on cluster.head_port, on every interface: through
// caf-openssl (mutual TLS) when cluster.tls is enabled, plain CAF otherwise. The bound port, or
// CAF's error.
caf::expected<std::uint16_t> publish_rendezvous(caf::actor_system& system, const caf::actor& actor,
                                                const ClusterConfig& cluster);

// The head's rendezvous actor. Retries with backoff until cluster.join_timeout has passed, so a
// worker may start before its head; throws Error(io) naming the address and the last failure.
// Over TLS when cluster.tls is enabled (a head without TLS, or with another CA, never answers).
caf::actor connect_to_head(caf::actor_system& system, const ClusterConfig& cluster);

}  // namespace tessera::net
