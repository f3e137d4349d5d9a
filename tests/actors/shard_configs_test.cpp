// make_shard_configs, the one builder of ShardConfig for the head's ranks and a worker's: every
// setting from the EngineConfig, the group's from the ShardGroup, a worker's CUDA devices
// numbered from its first rank and the head's seed base on every node; and driver_shard, which
// tells the scheduler whose reply carries the StepResult.
#include "actors/shard_configs.hpp"

#include <gtest/gtest.h>

#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"
#include "tests/support/expect_error.hpp"

namespace tessera::actors {
namespace {

using namespace std::chrono_literals;
using test::expect_error;
using test::expect_error_mentions;

EngineConfig node_config(int local_ranks) {
  EngineConfig config;
  config.model_dir = "/models/some-model";
  config.tensor_parallel = local_ranks;
  config.gpu_memory_utilization = 0.75;
  config.kv_memory_bytes = 12345;
  config.block_size = 32;
  config.collective_timeout = 4567ms;
  return config;
}

void expect_settings_of(const ShardConfig& shard, const EngineConfig& config,
                        const ShardGroup& group, DeviceKind device) {
  EXPECT_EQ(shard.model_dir, config.model_dir);
  EXPECT_EQ(shard.layout, group.layout);
  EXPECT_EQ(shard.device, device);
  EXPECT_EQ(shard.gpu_memory_utilization, 0.75);
  EXPECT_EQ(shard.kv_memory_bytes, 12345);
  EXPECT_EQ(shard.block_size, 32);
  EXPECT_EQ(shard.store, group.store);
  EXPECT_EQ(shard.collective_timeout, 4567ms);  // no longer a literal the config cannot reach
  EXPECT_EQ(shard.seed_base, group.seed_base);
}

TEST(ShardConfigs, TheHeadsRanksStartAtZero) {
  const auto config = node_config(2);
  const ShardGroup group{runtime::ParallelLayout::tensor_parallel(2), 0,
                         runtime::make_in_process_store(), 0x1234};
  const auto shards = make_shard_configs(config, DeviceKind::cuda, group);
  ASSERT_EQ(shards.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const auto& shard = shards[static_cast<std::size_t>(i)];
    EXPECT_EQ(shard.rank, i);
    EXPECT_EQ(shard.cuda_device, i);
    expect_settings_of(shard, config, group, DeviceKind::cuda);
  }
}

TEST(ShardConfigs, AWorkersRanksUseItsOwnDevicesAndTheHeadsSeedBase) {
  // Worker ranks 4-7 of 8: its GPUs 0-3, and the seed base the head sent in JoinAccepted.
  const auto config = node_config(4);
  const ShardGroup group{runtime::ParallelLayout::tensor_parallel(8), 4,
                         runtime::make_in_process_store(), 0xfeedfacecafebeefULL};
  const auto shards = make_shard_configs(config, DeviceKind::cuda, group);
  ASSERT_EQ(shards.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const auto& shard = shards[static_cast<std::size_t>(i)];
    EXPECT_EQ(shard.rank, 4 + i);
    EXPECT_EQ(shard.cuda_device, i);
    expect_settings_of(shard, config, group, DeviceKind::cuda);
  }
}

TEST(ShardConfigs, ExpertParallelismBeyondTpRunsOneRankPerExpertRank) {
  // --tp 1 --ep 2 on one node: two ranks, each with the whole attention and half the experts.
  auto config = node_config(1);
  config.expert_parallel = 2;
  EXPECT_EQ(config.local_ranks(), 2);
  const ShardGroup group{runtime::ParallelLayout(1, 1, 2), 0, runtime::make_in_process_store(),
                         7};
  const auto shards = make_shard_configs(config, DeviceKind::cpu, group);
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards[1].rank, 1);
  expect_settings_of(shards[1], config, group, DeviceKind::cpu);
}

TEST(ShardConfigs, RefusesRanksOutsideTheLayoutLayoutsThatDoNotRunAndNoDevice) {
  const auto config = node_config(4);
  ShardGroup group{runtime::ParallelLayout::tensor_parallel(8), 6, nullptr, 0};
  expect_error_mentions(expect_error([&] { make_shard_configs(config, DeviceKind::cpu, group); }),
                        ErrorCategory::invalid_argument,
                        {"4 rank(s) from global rank 6", "tp 8, pp 1, ep 1 (8 ranks)"});
  group = ShardGroup{runtime::ParallelLayout(2, 2, 1), 0, nullptr, 0};
  expect_error_mentions(expect_error([&] { make_shard_configs(config, DeviceKind::cpu, group); }),
                        ErrorCategory::unsupported, {"tp 2, pp 2, ep 1", "pipeline stages"});
  group = ShardGroup{runtime::ParallelLayout::tensor_parallel(4), 0, nullptr, 0};
  expect_error_mentions(
      expect_error([&] { make_shard_configs(config, DeviceKind::automatic, group); }),
      ErrorCategory::internal, {"resolved device"});
}

TEST(ShardConfigs, TheDriverShardIsTheLayoutsDriverAmongTheHeadsRanks) {
  EXPECT_EQ(driver_shard(runtime::ParallelLayout::tensor_parallel(4), 2), 0u);
  EXPECT_EQ(driver_shard(runtime::ParallelLayout(1, 2, 1), 2), 1u);  // last stage is rank 1
  expect_error_mentions(expect_error([] { driver_shard(runtime::ParallelLayout(2, 2, 1), 2); }),
                        ErrorCategory::unsupported, {"global rank 2", "head's ranks 0-1"});
}

}  // namespace
}  // namespace tessera::actors
