#include "actors/shard_configs.hpp"

#include <string>

#include "runtime/core/error.hpp"

namespace tessera::actors {

std::vector<ShardConfig> make_shard_configs(const EngineConfig& config, DeviceKind device,
                                            const ShardGroup& group) {
  const auto& layout = group.layout;
  if (device == DeviceKind::automatic) {
    throw Error(ErrorCategory::internal, "shards need a resolved device (cpu or cuda), not auto");
  }
  const int ranks = config.local_ranks();
  const int last_rank = group.first_rank + ranks - 1;
  if (ranks < 1 || group.first_rank < 0 || last_rank >= layout.world_size()) {
    throw Error(ErrorCategory::invalid_argument,
                "this node's " + std::to_string(ranks) +
                    " rank(s) from global rank " + std::to_string(group.first_rank) +
                    " do not fit the layout " + layout.describe());
  }
  if (layout.pp() != 1) {
    throw Error(ErrorCategory::unsupported,
                "the layout " + layout.describe() +
                    " has pipeline stages; only tensor and expert parallelism run yet");
  }
  std::vector<ShardConfig> shards;
  for (int rank = group.first_rank; rank <= last_rank; ++rank) {
    ShardConfig shard;
    shard.model_dir = config.model_dir;
    shard.layout = layout;
    shard.rank = rank;
    shard.device = device;
    shard.cuda_device = layout.local_device(rank, group.first_rank);
    shard.gpu_memory_utilization = config.gpu_memory_utilization;
    shard.kv_memory_bytes = config.kv_memory_bytes;
    shard.block_size = config.block_size;
    shard.store = group.store;
    shard.collective_timeout = config.collective_timeout;
    shard.seed_base = group.seed_base;
    shards.push_back(std::move(shard));
  }
  return shards;
}

std::size_t driver_shard(const runtime::ParallelLayout& layout, int head_ranks) {
  const int driver = layout.driver_rank();
  if (driver >= head_ranks) {
    throw Error(ErrorCategory::unsupported,
                "the layout " + layout.describe() + " puts its driver at global rank " +
                    std::to_string(driver) + ", outside the head's ranks 0-" +
                    std::to_string(head_ranks - 1) + "; a worker cannot drive sampling yet");
  }
  return static_cast<std::size_t>(driver);
}

}  // namespace tessera::actors
