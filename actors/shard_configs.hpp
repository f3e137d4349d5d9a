#pragma once
// The one place a ShardConfig is made, for the engine's own ranks and for a worker's alike, so
// that the two cannot drift apart: both take their settings from an EngineConfig and what the
// group shares (its layout, the node's first rank, the store, the head's seed base) from a
// ShardGroup. Each shard's CUDA device is its place on its node (ParallelLayout::local_device):
// a worker holding ranks 4-7 computes on its GPUs 0-3.
#include <cstdint>
#include <memory>
#include <vector>

#include "actors/engine_config.hpp"
#include "actors/shard_actor.hpp"
#include "runtime/parallel/parallel_layout.hpp"

namespace gloo::rendezvous {
class Store;
}

namespace tessera::actors {

struct ShardGroup {
  runtime::ParallelLayout layout;
  int first_rank = 0;  // the node's ranks are first_rank … first_rank + local_ranks() - 1
  std::shared_ptr<gloo::rendezvous::Store> store;
  std::uint64_t seed_base = 0;  // the head's, sent to workers: every node samples alike
};

// One config per local rank (config.local_ranks() of them), in rank order, computing on
// `device` (cpu or cuda, resolved). Throws Error(invalid_argument) when the node's ranks fall
// outside the layout, Error(unsupported) for a layout with pipeline stages (laid out, not
// executed yet), Error(internal) for an unresolved device.
std::vector<ShardConfig> make_shard_configs(const EngineConfig& config, DeviceKind device,
                                            const ShardGroup& group);

// Which of a head's shard actors answers a step with its StepResult: the head's own ranks come
// first, in rank order (node links follow). Throws Error(unsupported) when the layout's driver
// is not one of the head's `head_ranks` ranks (node links answer with acknowledgements only).
std::size_t driver_shard(const runtime::ParallelLayout& layout, int head_ranks);

}  // namespace tessera::actors
