// Which device the Engine's shards run on, and how the KV pool is agreed at start-up, as far as a
// machine without GPUs can tell: cuda that cannot be had is a clear error, automatic falls back
// to the CPU, a bad gpu_memory_utilization is refused by name, and the CPU pool is sized as it
// always was (kv_memory_bytes, capped by what max_running full contexts need). On a machine with
// GPUs the same tests hold with the outcome that machine gives; tests/actors_cuda covers more.
#include <gtest/gtest.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <cmath>
#include <limits>

#include "actors/engine.hpp"
#include "actors/messages.hpp"
#include "runtime/kv/kv_cache.hpp"
#include "runtime/model/shard_plan.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::actors {
namespace {

using test::expect_error;
using test::expect_error_mentions;
using testing::fixture_models_dir;

EngineConfig config_for(const std::string& model, int tp, DeviceKind device) {
  EngineConfig c;
  c.model_dir = fixture_models_dir() / model;
  c.tensor_parallel = tp;
  c.device = device;
  c.actor_threads = 2;
  return c;
}

TEST(EngineDevice, AutomaticTakesGpusOnlyWhenThereIsOnePerRank) {
  const bool gpus = cuda_built() && cuda_device_count() >= 1;
  auto engine = Engine::start(config_for("llama2", 1, DeviceKind::automatic));
  EXPECT_EQ(engine->device(), gpus ? DeviceKind::cuda : DeviceKind::cpu);
  ASSERT_EQ(engine->ranks().size(), 1u);
  EXPECT_EQ(engine->ranks()[0].device.substr(0, 4), gpus ? "cuda" : "cpu");
  // More ranks than GPUs (none here): the CPU, never an error.
  const auto wide = config_for("llama2", 4, DeviceKind::automatic);
  if (cuda_device_count() < 4) {
    EXPECT_EQ(resolve_device(wide), DeviceKind::cpu);
  }
}

TEST(EngineDevice, CudaThatCannotBeHadIsAClearError) {
  // One rank more than there are GPUs: refused before any weight is read, whatever the machine.
  const auto config = config_for("llama2", cuda_device_count() + 1, DeviceKind::cuda);
  const auto e = expect_error([&] { Engine::start(config); });
  expect_error_mentions(e, ErrorCategory::unsupported,
                        {"EngineConfig.device", cuda_built() ? "GPU" : "TESSERA_CUDA"});
  const auto named = expect_error([&] { resolve_device(config, {"--device", "--tp"}); });
  expect_error_mentions(named, ErrorCategory::unsupported, {"--device"});
  if (cuda_built()) {
    EXPECT_NE(std::string(named.what()).find("--tp " + std::to_string(config.tensor_parallel)),
              std::string::npos)
        << named.what();
  }
}

TEST(EngineDevice, GpuMemoryUtilizationOutsideZeroToOneIsRefusedByName) {
  for (const double bad : {0.0, -0.5, 1.01, std::numeric_limits<double>::quiet_NaN()}) {
    auto config = config_for("llama2", 1, DeviceKind::cpu);
    config.gpu_memory_utilization = bad;
    const auto e = expect_error([&] { Engine::start(config); });
    expect_error_mentions(e, ErrorCategory::invalid_argument, {"gpu_memory_utilization"});
  }
  auto config = config_for("llama2", 1, DeviceKind::cpu);
  config.gpu_memory_utilization = 1.0;  // the top of the range is allowed
  EXPECT_EQ(Engine::start(config)->device(), DeviceKind::cpu);
}

TEST(EngineDevice, CpuPoolIsSizedFromKvMemoryBytesOnEveryRank) {
  const std::string model = "llama2";
  const auto model_config = runtime::ModelConfig::load(fixture_models_dir() / model);
  for (const int tp : {1, 2}) {
    auto config = config_for(model, tp, DeviceKind::cpu);
    const auto plan = runtime::ShardPlan::make(model_config, 0, tp);
    const std::int64_t bytes_per_block = 2 * model_config.num_hidden_layers * plan.kv_heads *
                                         model_config.head_dim * config.block_size * 4;  // f32
    const std::int64_t by_need =
        config.max_running *
        runtime::blocks_for_tokens(model_config.max_position_embeddings, config.block_size);
    const std::int64_t expected =
        std::max<std::int64_t>(1, std::min(config.kv_memory_bytes / bytes_per_block, by_need));

    auto engine = Engine::start(config);
    EXPECT_EQ(engine->device(), DeviceKind::cpu);
    EXPECT_EQ(engine->kv_blocks(), expected) << "tp " << tp;
    EXPECT_EQ(engine->kv_cache_bytes_per_rank(), expected * bytes_per_block);
    ASSERT_EQ(engine->ranks().size(), static_cast<std::size_t>(tp));
    for (const auto& rank : engine->ranks()) {
      EXPECT_EQ(rank.device, "cpu");
      EXPECT_EQ(rank.kv_blocks, expected);
      EXPECT_EQ(rank.kv_bytes_per_block, bytes_per_block);
      EXPECT_EQ(rank.kv_capacity_blocks, config.kv_memory_bytes / bytes_per_block);
    }
    EXPECT_EQ(engine->stats().total_blocks, expected);
  }
}

TEST(EngineDevice, ExplicitKvBlocksOnTheCpuAreKept) {
  auto config = config_for("llama2", 2, DeviceKind::cpu);
  config.kv_blocks = 24;
  auto engine = Engine::start(config);
  EXPECT_EQ(engine->kv_blocks(), 24);
  for (const auto& rank : engine->ranks()) EXPECT_EQ(rank.kv_blocks, 24);
  EXPECT_EQ(engine->stats().total_blocks, 24);
}

TEST(EngineDevice, ShardReadyKeepsEveryFieldOnTheWire) {
  ShardReady sent{1, 4096, 9000, 8192, "cuda:1 (NVIDIA H100 80GB HBM3)", 70LL << 30, 80LL << 30};
  std::vector<char> bytes;
  caf::binary_serializer sink{nullptr, bytes};
  ASSERT_FALSE(sink(sent));
  ShardReady back;
  caf::binary_deserializer source{nullptr, bytes};
  ASSERT_FALSE(source(back));
  EXPECT_EQ(back.rank, 1);
  EXPECT_EQ(back.kv_blocks, 4096);
  EXPECT_EQ(back.kv_capacity_blocks, 9000);
  EXPECT_EQ(back.kv_bytes_per_block, 8192);
  EXPECT_EQ(back.device, sent.device);
  EXPECT_EQ(back.device_free_bytes, 70LL << 30);
  EXPECT_EQ(back.device_total_bytes, 80LL << 30);
}

TEST(EngineDevice, DeviceSpellingsRoundTrip) {
  for (const auto device : {DeviceKind::automatic, DeviceKind::cpu, DeviceKind::cuda}) {
    EXPECT_EQ(parse_device_kind(to_string(device)), device);
  }
  EXPECT_EQ(parse_device_kind("gpu"), std::nullopt);
  EXPECT_EQ(parse_device_kind("CUDA"), std::nullopt);
}

}  // namespace
}  // namespace tessera::actors
