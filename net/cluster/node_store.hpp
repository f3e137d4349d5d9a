#pragma once
// The Gloo store a cluster node's ranks meet through: the head's store actor (RemoteStore), plus
// the local address those ranks bind to and advertise (runtime::GlooBindAddressSource), since a
// rank that advertised 127.0.0.1 could only be reached from its own host.
//
// A worker binds to --mn-bind-addr, or else to the local address its route to the head leaves
// from, and writes into the store the head's address as it reached it. The head binds to its own
// --mn-bind-addr, or else to the address worker 0 reached it at (waited for, with the store's
// timeout, when its first rank joins the group).
#include <chrono>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "net/cluster/cluster_config.hpp"

namespace gloo::rendezvous {
class Store;
}

namespace tessera::net {

std::shared_ptr<gloo::rendezvous::Store> make_head_store(caf::actor_system& system,
                                                         caf::actor store,
                                                         std::chrono::milliseconds timeout,
                                                         const ClusterConfig& cluster);

// Resolves the route to the head and announces the head's address (a store request): throws
// Error(io) when either fails.
std::shared_ptr<gloo::rendezvous::Store> make_worker_store(caf::actor_system& system,
                                                           caf::actor store,
                                                           std::chrono::milliseconds timeout,
                                                           const ClusterConfig& cluster);

}  // namespace tessera::net
