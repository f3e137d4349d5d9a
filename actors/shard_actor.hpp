#pragma once
// One rank of the tensor-parallel group as a detached actor (its own thread, because a forward
// pass blocks): it owns a CPU backend, its communicator, its slice of the weights and of the KV
// cache, and on rank 0 the sampling state of every live sequence.
//
// Protocol: init_atom -> ShardReady (loads weights, joins the group; every rank must get init
// concurrently), StepPlan -> StepResult on rank 0 / ShardAck elsewhere. A failure replies a
// caf::error (sec::runtime_error) whose context names the rank and what failed.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <caf/fwd.hpp>

namespace gloo::rendezvous {
class Store;
}

namespace tessera::actors {

struct ShardConfig {
  std::filesystem::path model_dir;
  int rank = 0;
  int world_size = 1;
  std::int64_t kv_blocks = 0;
  std::int64_t block_size = 16;
  std::shared_ptr<gloo::rendezvous::Store> store;  // world_size > 1: shared by the group
  std::chrono::milliseconds collective_timeout{30000};
  std::uint64_t seed_base = 0;  // mixed with a sequence's id when its request gave no seed
};

caf::actor spawn_shard(caf::actor_system& system, ShardConfig config);

}  // namespace tessera::actors
