#pragma once
// What a cluster head adds to its Engine, as an interface: the Engine (actors/) drives it, and
// net/cluster/ implements it with CAF's middleman, which this layer does not link. A null
// EngineConfig::cluster means a single node.
//
// Engine::start calls, in order: configure (before the actor system exists), open (publishes the
// rendezvous; the head's own ranks meet their peers in the store it returns), join (waits for
// every worker; their node links go after the head's shards), then ready once every rank of
// every node has initialised its communicator and allocated its KV pool, and watch with the
// scheduler once it runs. close runs at shutdown, before the actor system goes.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/parallel/parallel_layout.hpp"

namespace gloo::rendezvous {
class Store;
}

namespace tessera::actors {

class ClusterHead {
 public:
  virtual ~ClusterHead() = default;
  // Ranks of every node together; the head's own are 0 … EngineConfig::tensor_parallel - 1.
  virtual int world_size() const = 0;
  virtual void configure(caf::actor_system_config& cfg) const = 0;
  // What the workers' shards need from the head to match its own (make_shard_configs): the
  // layout, and the seed base every node samples with; the rendezvous sends both when they join.
  virtual std::shared_ptr<gloo::rendezvous::Store> open(caf::actor_system& system,
                                                        const runtime::ParallelLayout& layout,
                                                        std::uint64_t seed_base) = 0;
  // One node link per worker (node_link.hpp), in global rank order. Throws Error naming the
  // workers that did not join in time and the last refusal.
  virtual std::vector<caf::actor> join(caf::actor_system& system) = 0;
  virtual void ready() = 0;
  // Once the scheduler runs: the node links tell it of a lost worker (mn_lost_atom) and the
  // rendezvous when every lost worker is back (mn_back_atom); scheduler_actor.hpp re-forms.
  virtual void watch(const caf::actor& scheduler) = 0;
  // How long a request waits for a degraded cluster to re-form before it fails (503).
  virtual std::chrono::milliseconds recovery_timeout() const = 0;
  virtual void close() = 0;
};

}  // namespace tessera::actors
