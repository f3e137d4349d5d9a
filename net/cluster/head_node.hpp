#pragma once
// The head's part of a cluster, plugged into its Engine (actors/cluster_head.hpp): publishes the
// rendezvous actor on the head port, serves the Gloo store to every rank, waits for the workers
// and hands the Engine one node link per worker.
#include <memory>

#include "actors/cluster_head.hpp"
#include "actors/engine_config.hpp"
#include "net/cluster/cluster_config.hpp"
#include "net/cluster/cluster_messages.hpp"

namespace tessera::net {

// `engine` gives the head's own rank count (tensor_parallel) and the timeouts its node links use;
// `fingerprint` is what every worker must match.
std::shared_ptr<actors::ClusterHead> make_head_node(const ClusterConfig& cluster,
                                                   const actors::EngineConfig& engine,
                                                   const NodeFingerprint& fingerprint);

}  // namespace tessera::net
