#pragma once
// One rank of the group as a detached actor (its own thread, because a forward pass blocks): it
// owns its backend (the CPU, or one CUDA device), its communicator (Gloo or NCCL), its slice of
// the weights and of the KV cache, and on the layout's driver rank the sampling state of every
// live sequence.
//
// Protocol, every message sent to all ranks at once (they wait for each other in collectives):
//   init_atom -> ShardReady: joins the group, loads the weights, and reports how many KV blocks
//     it could hold (kv_capacity_blocks), measured after the weights on a GPU;
//   (allocate_atom, blocks) -> ShardReady: allocates the pool the engine agreed for every rank;
//   StepPlan -> StepResult on the driver rank (ParallelLayout::driver_rank), ShardAck elsewhere;
//   (regroup_atom, store_prefix) -> ShardReady: a cluster re-forms after losing a worker: leave
//     the old group and join a new one under `store_prefix` (loading first if never initialised).
// A failure replies a caf::error (sec::runtime_error) whose context names the rank and what failed.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/engine_config.hpp"
#include "runtime/parallel/parallel_layout.hpp"

namespace gloo::rendezvous {
class Store;
}

namespace tessera::actors {

// Built by make_shard_configs (shard_configs.hpp), the same way on the head and on a worker.
struct ShardConfig {
  std::filesystem::path model_dir;
  runtime::ParallelLayout layout;  // the whole group's, every node's ranks together
  int rank = 0;                    // this shard's global rank in `layout`
  DeviceKind device = DeviceKind::cpu;  // cpu or cuda, as Engine resolved it
  int cuda_device = 0;  // cuda: the GPU of this process it computes on (layout.local_device)
  double gpu_memory_utilization = 0.9;  // cuda: see EngineConfig
  std::int64_t kv_memory_bytes = 0;     // cpu: the KV budget that kv_capacity_blocks reports
  std::int64_t block_size = 16;
  // More than one rank: shared by the group (Gloo's rendezvous, or NCCL's unique id).
  std::shared_ptr<gloo::rendezvous::Store> store;
  std::chrono::milliseconds collective_timeout{30000};
  std::uint64_t seed_base = 0;  // mixed with a sequence's id when its request gave no seed
};

caf::actor spawn_shard(caf::actor_system& system, ShardConfig config);

}  // namespace tessera::actors
