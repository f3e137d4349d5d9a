#pragma once
// One rank of the tensor-parallel group as a detached actor (its own thread, because a forward
// pass blocks): it owns its backend (the CPU, or one CUDA device), its communicator (Gloo or
// NCCL), its slice of the weights and of the KV cache, and on rank 0 the sampling state of every
// live sequence.
//
// Protocol, every message sent to all ranks at once (they wait for each other in collectives):
//   init_atom -> ShardReady: joins the group, loads the weights, and reports how many KV blocks
//     it could hold (kv_capacity_blocks), measured after the weights on a GPU;
//   (allocate_atom, blocks) -> ShardReady: allocates the pool the engine agreed for every rank;
//   StepPlan -> StepResult on rank 0, ShardAck elsewhere;
//   (regroup_atom, store_prefix) -> ShardReady: a cluster re-forms after losing a worker: leave
//     the old group and join a new one under `store_prefix` (loading first if never initialised).
// A failure replies a caf::error (sec::runtime_error) whose context names the rank and what failed.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/engine_config.hpp"

namespace gloo::rendezvous {
class Store;
}

namespace tessera::actors {

struct ShardConfig {
  std::filesystem::path model_dir;
  int rank = 0;
  int world_size = 1;
  DeviceKind device = DeviceKind::cpu;  // cpu or cuda, as Engine resolved it
  // cuda: the GPU of this process the rank computes on; -1 numbers it like the rank, right when
  // one process holds every rank (a worker node holding ranks 4-7 sets 0-3).
  int cuda_device = -1;
  double gpu_memory_utilization = 0.9;  // cuda: see EngineConfig
  std::int64_t kv_memory_bytes = 0;     // cpu: the KV budget that kv_capacity_blocks reports
  std::int64_t block_size = 16;
  // world_size > 1: shared by the group (Gloo's rendezvous, or NCCL's unique id).
  std::shared_ptr<gloo::rendezvous::Store> store;
  std::chrono::milliseconds collective_timeout{30000};
  std::uint64_t seed_base = 0;  // mixed with a sequence's id when its request gave no seed
};

caf::actor spawn_shard(caf::actor_system& system, ShardConfig config);

}  // namespace tessera::actors
