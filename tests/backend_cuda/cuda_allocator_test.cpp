// The caching allocator: size classes (no GPU needed), reuse of released blocks, and a decode
// loop that stops asking the driver for memory once warm.
#include <gtest/gtest.h>

#include <numeric>

#include "runtime/backend/cuda_allocator.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/model/greedy_generation.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

using runtime::CudaAllocator;

TEST(CudaAllocatorSizes, ClassesCoverTheRequestWithBoundedWaste) {
  EXPECT_EQ(CudaAllocator::rounded_size(0), 512u);
  EXPECT_EQ(CudaAllocator::rounded_size(512), 512u);
  EXPECT_EQ(CudaAllocator::rounded_size(513), 1024u);
  for (std::size_t bytes : {std::size_t{1000}, std::size_t{4097}, std::size_t{123457},
                            std::size_t{3} << 20, (std::size_t{117} << 20) + 3,
                            std::size_t{5} << 30}) {
    const std::size_t size = CudaAllocator::rounded_size(bytes);
    EXPECT_GE(size, bytes);
    EXPECT_EQ(size % 512, 0u) << bytes;
    EXPECT_LE(size - bytes, std::max<std::size_t>(bytes / 8, 512)) << bytes;
    EXPECT_LE(size - bytes, std::size_t{2} << 20) << bytes;
    EXPECT_EQ(CudaAllocator::rounded_size(size), size) << "a class is its own class: " << bytes;
  }
}

TEST(CudaAllocatorDevice, ReleasedBlocksAreReusedAndCounted) {
  SKIP_WITHOUT_GPU();
  auto allocator = CudaAllocator::create(0);
  void* a = allocator->allocate(1000);
  void* b = allocator->allocate(1000);
  EXPECT_NE(a, b);
  const auto stats = allocator->stats();
  EXPECT_EQ(stats.device_allocations, 2);
  EXPECT_EQ(stats.bytes_in_use, 2 * CudaAllocator::rounded_size(1000));
  allocator->release(a);
  EXPECT_EQ(allocator->allocate(900), a) << "same size class: the released block comes back";
  EXPECT_EQ(allocator->stats().device_allocations, 2);
  EXPECT_EQ(allocator->stats().reuses, 1);
  allocator->release(a);
  allocator->release(b);
  EXPECT_EQ(allocator->stats().bytes_in_use, 0u);
  EXPECT_EQ(allocator->stats().bytes_reserved, 2 * CudaAllocator::rounded_size(1000));
  {
    auto shared = allocator->allocate_shared(1 << 20, CudaAllocator::Fit::exact);
    EXPECT_EQ(allocator->stats().bytes_in_use, std::size_t{1} << 20);
  }
  EXPECT_EQ(allocator->stats().bytes_in_use, 0u) << "the last owner releases the block";
  allocator->empty_cache();
  EXPECT_EQ(allocator->stats().bytes_reserved, 0u);
}

TEST(CudaAllocatorDevice, WarmDecodeLoopsAllocateNothingNew) {
  SKIP_WITHOUT_GPU();
  const auto names = fixture_model_names();
  ASSERT_FALSE(names.empty());
  const auto dir = fixture_models_dir() / names.front();
  const auto config = runtime::ModelConfig::load(dir);
  runtime::CudaBackend backend;
  runtime::SingleRankCommunicator communicator;
  runtime::Transformer model(config, runtime::ShardPlan::make(config, 0, 1),
                             runtime::Checkpoint::open(dir), backend, communicator);
  std::vector<std::int32_t> prompt(9);
  std::iota(prompt.begin(), prompt.end(), 1);
  runtime::GreedyOptions options;
  options.max_new_tokens = 12;
  options.block_size = 4;
  const auto first = runtime::generate_greedy(model, prompt, options);
  const auto before = backend.memory_stats();
  const auto second = runtime::generate_greedy(model, prompt, options);
  const auto after = backend.memory_stats();
  EXPECT_EQ(first.token_ids, second.token_ids);
  EXPECT_EQ(after.device_allocations, before.device_allocations)
      << "a second identical generation must be served from the cache";
  EXPECT_GT(after.reuses, before.reuses);
  std::cout << "[cuda] allocator after two generations: " << after.bytes_in_use << " bytes in use, "
            << after.bytes_reserved << " reserved, " << after.device_allocations
            << " cudaMalloc calls, " << after.reuses << " reuses\n";
}

}  // namespace
}  // namespace tessera::testing
