#pragma once
// What the head and its workers say to each other while a cluster forms: a worker's request to
// join, the head's answer, and the Gloo store operations every rank sends to the head. Each type
// has a CAF type ID (in a block after the actors' own) and an `inspect` overload; each
// round-trips through CAF's serializer in tests/net/cluster_messages_test.cpp. The step protocol
// itself (StepPlan, ShardAck, init/allocate) is the actors' and crosses unchanged.
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/messages.hpp"

namespace tessera::net {

// Everything that must be equal on every node for their ranks to compute one model together.
struct NodeFingerprint {
  std::string version;       // tessera's
  std::uint64_t model_hash = 0;  // config.json's model fields and the checkpoint's tensor list
  std::string dtype;         // the checkpoint's tensor dtypes, e.g. "F32" or "BF16+F32"
  std::string device;        // "cpu" (Gloo) or "cuda" (NCCL)

  bool operator==(const NodeFingerprint&) const = default;
};

struct JoinRequest {
  std::string secret;
  std::int32_t worker_id = 0;
  NodeFingerprint fingerprint;
  std::int32_t local_ranks = 1;
  std::int32_t global_world_size = 0;  // 0: the worker was not told; otherwise the head checks it
};

// The head's answer once every worker is in: this worker's global ranks are first_rank …
// first_rank + local_ranks - 1 of the layout (tp, pp, ep: runtime::ParallelLayout, whose world
// is every node's ranks), its ranks meet in the Gloo store `store`, and they sample with the
// head's seed base so that a request without a seed draws the same tokens on every node.
struct JoinAccepted {
  std::int32_t first_rank = 0;
  std::int32_t layout_tp = 1;
  std::int32_t layout_pp = 1;
  std::int32_t layout_ep = 1;
  caf::actor store;
  std::uint64_t seed_base = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, NodeFingerprint& x) {
  return f(caf::meta::type_name("NodeFingerprint"), x.version, x.model_hash, x.dtype, x.device);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JoinRequest& x) {
  return f(caf::meta::type_name("JoinRequest"), x.secret, x.worker_id, x.fingerprint,
           x.local_ranks, x.global_world_size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JoinAccepted& x) {
  return f(caf::meta::type_name("JoinAccepted"), x.first_rank, x.layout_tp, x.layout_pp,
           x.layout_ep, x.store, x.seed_base);
}

}  // namespace tessera::net

CAF_BEGIN_TYPE_ID_BLOCK(tessera_cluster, caf::id_block::tessera_actors::end)
CAF_ADD_TYPE_ID(tessera_cluster, (tessera::net::NodeFingerprint))
CAF_ADD_TYPE_ID(tessera_cluster, (tessera::net::JoinRequest))
CAF_ADD_TYPE_ID(tessera_cluster, (tessera::net::JoinAccepted))
// 0.17 atoms are values made from their text: these must not collide with CAF's own (join, get…).
CAF_ADD_ATOM(tessera_cluster, tessera::net, mn_join_atom, "mn_join")
CAF_ADD_ATOM(tessera_cluster, tessera::net, mn_workers_atom, "mn_workers")
CAF_ADD_ATOM(tessera_cluster, tessera::net, mn_status_atom, "mn_status")
CAF_ADD_ATOM(tessera_cluster, tessera::net, store_set_atom, "st_set")
CAF_ADD_ATOM(tessera_cluster, tessera::net, store_get_atom, "st_get")
CAF_ADD_ATOM(tessera_cluster, tessera::net, store_wait_atom, "st_wait")
CAF_END_TYPE_ID_BLOCK(tessera_cluster)

namespace tessera::net {

// Registers the cluster's message types with a CAF config, beside the actors' own.
void register_cluster_message_types(caf::actor_system_config& cfg);

}  // namespace tessera::net
