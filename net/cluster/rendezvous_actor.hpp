#pragma once
// The actor the head publishes for its workers: it admits them (admission.hpp), and once every
// worker is in, gives each its global ranks, the layout, the head's seed base and the Gloo store
// (JoinAccepted), and makes one head node link per worker (actors/node_link.hpp) for the
// engine's scheduler. Refusals are logged on stderr here and returned to the worker, which logs
// them too.
//
// Protocol:
//   (mn_join_atom, JoinRequest, caf::actor worker_link) -> JoinAccepted, once every worker has
//     joined; a caf::error (sec::runtime_error, the reason) when refused;
//   mn_workers_atom -> std::vector<caf::actor>: the head node links in rank order, once formed;
//   mn_status_atom -> std::string: who has joined, who is awaited, the last refusal;
//   (actors::mn_watch_atom, listener): the scheduler; passed on to every head node link.
// A worker that leaves frees its id, before the cluster forms and after. Once formed, the head
// waits for a lost worker's id again: a worker that joins with it (same checks) is answered at
// once when it was the last one missing; its head node link is rebound to it (mn_rebind_atom)
// and the listener gets mn_back_atom, upon which the scheduler re-forms the group.
#include <chrono>
#include <cstdint>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "net/cluster/admission.hpp"
#include "runtime/parallel/parallel_layout.hpp"

namespace tessera::net {

struct RendezvousConfig {
  AdmissionRules rules;
  runtime::ParallelLayout layout;  // the head's, of rules.global_world_size ranks
  std::uint64_t seed_base = 0;     // the head's shards'; every worker's shards sample with it
  caf::actor store;  // store_actor.hpp
  std::chrono::milliseconds start_timeout{120000};  // for the node links
};

caf::actor spawn_rendezvous(caf::actor_system& system, RendezvousConfig config);

// The text of an error as the other side put it (a refusal's reason), without CAF's wrapping.
std::string error_text(caf::actor_system& system, const caf::error& error);

}  // namespace tessera::net
