// Tensor parallelism on the CPU backend with threads as ranks: for every fixture model and
// TP = 2 and 4, rank 0's greedy tokens equal HF transformers' exactly and its prompt logits
// match the TP=1 engine within 1e-4 (only the summation order of the all-reduces differs) and the
// golden within 1e-3. Shapes that cannot split must fail up front, naming the numbers.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "runtime/core/error.hpp"
#include "tests/runtime/tensor_parallel/layout_runs.hpp"

namespace tessera::testing {
namespace {

class TensorParallelTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(TensorParallelTest, MatchesGoldenAndSingleRank) {
  const auto& [name, world_size] = GetParam();
  const auto dir = fixture_models_dir() / name;
  const auto config = runtime::ModelConfig::load(dir);
  if (config.num_attention_heads % world_size != 0) {
    // Only the fixture made for this is expected not to split; the error names both numbers.
    EXPECT_EQ(name, "gqa_odd_heads");
    try {
      runtime::ShardPlan::make(config, 0, world_size);
      FAIL() << "sharded " << config.num_attention_heads << " heads over " << world_size;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
      const std::string message = e.what();
      EXPECT_NE(message.find(std::to_string(config.num_attention_heads) + " query heads"),
                std::string::npos) << message;
      EXPECT_NE(message.find(std::to_string(world_size) + " tensor-parallel ranks"),
                std::string::npos) << message;
    }
    return;
  }

  expect_matches_golden_and_single_rank(name,
                                        runtime::ParallelLayout::tensor_parallel(world_size));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, TensorParallelTest,
    ::testing::Combine(::testing::ValuesIn(fixture_model_names()), ::testing::Values(2, 4)),
    [](const auto& test_param) {
      return std::get<0>(test_param.param) + "_tp" + std::to_string(std::get<1>(test_param.param));
    });

TEST(TensorParallel, OddHeadFixtureCannotSplitOverFourRanks) {
  const auto config = runtime::ModelConfig::load(fixture_models_dir() / "gqa_odd_heads");
  try {
    runtime::ShardPlan::make(config, 0, 4);
    FAIL() << "6 query heads were split over 4 ranks";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("6 query heads"), std::string::npos) << e.what();
  }
}

TEST(TensorParallel, ATransformerRefusesAPipelineStageInsteadOfRunningItAsTheWholeModel) {
  const auto dir = fixture_models_dir() / "llama2";
  const auto config = runtime::ModelConfig::load(dir);
  const runtime::ParallelLayout two_stages(1, 2, 1);
  runtime::CpuBackend backend;
  runtime::SingleRankCommunicator communicator;
  try {
    runtime::Transformer model(config, runtime::ShardPlan::make(config, two_stages, 0),
                               runtime::Checkpoint::open(dir), backend, communicator);
    FAIL() << "ran stage 0 of 2 as a whole model";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::unsupported);
    EXPECT_NE(std::string(e.what()).find("holds layers 0-"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pipeline stages are not executed"), std::string::npos)
        << e.what();
  }
}

TEST(TensorParallel, LockstepRefusesACommunicatorOfAnotherGroup) {
  auto fixture = load_fixture("llama2");  // sharded as rank 0 of 1
  auto store = runtime::make_in_process_store();
  std::string error;
  run_ranks(2, [&](int rank) {
    runtime::GlooCommunicator communicator(store, rank, 2);
    if (rank != 0) return;
    const std::vector<std::int32_t> prompt{1, 2, 3};
    try {
      runtime::generate_greedy_lockstep(*fixture->model, communicator, prompt, {});
    } catch (const Error& e) {
      error = e.what();
    }
  });
  EXPECT_NE(error.find("rank 0 of 1"), std::string::npos) << error;
}

}  // namespace
}  // namespace tessera::testing
