#pragma once
// The actor the head publishes for its workers: it admits them (admission.hpp), and once every
// worker is in, gives each its global ranks and the Gloo store, and makes one head node link per
// worker (actors/node_link.hpp) for the engine's scheduler. Refusals are logged on stderr here and
// returned to the worker, which logs them too.
//
// Protocol:
//   (mn_join_atom, JoinRequest, caf::actor worker_link) -> JoinAccepted, once every worker has
//     joined; a caf::error (sec::runtime_error, the reason) when refused;
//   mn_workers_atom -> std::vector<caf::actor>: the head node links in rank order, once formed;
//   mn_status_atom -> std::string: who has joined, who is awaited, the last refusal.
// A worker that leaves before the cluster forms frees its id; joins after it formed are refused.
#include <chrono>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "net/cluster/admission.hpp"

namespace tessera::net {

struct RendezvousConfig {
  AdmissionRules rules;
  caf::actor store;  // store_actor.hpp
  std::chrono::milliseconds start_timeout{120000};  // for the node links
  std::chrono::milliseconds step_timeout{300000};
};

caf::actor spawn_rendezvous(caf::actor_system& system, RendezvousConfig config);

// The text of an error as the other side put it (a refusal's reason), without CAF's wrapping.
std::string error_text(caf::actor_system& system, const caf::error& error);

}  // namespace tessera::net
