// Expert parallelism on the CPU backend with threads as ranks: for every mixture-of-experts
// fixture and layouts that place whole experts over 2 or 4 ranks, alone or with tensor
// parallelism (tp 2 × ep 2 on two ranks; tp 2 with ep 4 and tp 4 with ep 2 on four, where
// attention is replicated or experts' features split further), the driver's greedy tokens equal
// HF's and its logits match HF within 1e-3 and the one-rank model within 1e-4: the layout never
// changes which experts a token gets. Layouts that cannot place the experts fail up front.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/core/error.hpp"
#include "tests/runtime/tensor_parallel/layout_runs.hpp"

namespace tessera::testing {
namespace {

struct Layout {
  int tp, ep;
};

class ExpertParallelTest : public ::testing::TestWithParam<std::tuple<std::string, Layout>> {};

TEST_P(ExpertParallelTest, MatchesGoldenAndSingleRank) {
  const auto& [name, layout] = GetParam();
  expect_matches_golden_and_single_rank(name, runtime::ParallelLayout(layout.tp, 1, layout.ep));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ExpertParallelTest,
    ::testing::Combine(::testing::ValuesIn(moe_fixture_model_names()),
                       ::testing::Values(Layout{1, 2}, Layout{1, 4}, Layout{2, 2}, Layout{2, 4},
                                         Layout{4, 2})),
    [](const auto& test_param) {
      const Layout& layout = std::get<1>(test_param.param);
      return std::get<0>(test_param.param) + "_tp" + std::to_string(layout.tp) + "_ep" +
             std::to_string(layout.ep);
    });

TEST(ExpertParallel, EveryMixtureOfExpertsArchitectureHasAFixture) {
  // A fixture set without them would make the suite above run nothing.
  const auto names = moe_fixture_model_names();
  for (const char* expected : {"mixtral_moe", "qwen2_moe", "qwen3_moe"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

std::string plan_error(const std::string& fixture, const runtime::ParallelLayout& layout) {
  const auto config = runtime::ModelConfig::load(fixture_models_dir() / fixture);
  try {
    runtime::ShardPlan::make(config, layout, 0);
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    return e.what();
  }
  ADD_FAILURE() << fixture << " was planned over " << layout.describe();
  return {};
}

TEST(ExpertParallel, AnExpertCountThatDoesNotDivideIsRefusedNamingBothNumbers) {
  const std::string message = plan_error("qwen3_moe", runtime::ParallelLayout(1, 1, 3));
  EXPECT_NE(message.find("8 experts (num_experts)"), std::string::npos) << message;
  EXPECT_NE(message.find("3 expert-parallel ranks"), std::string::npos) << message;
}

TEST(ExpertParallel, ADenseModelIsRefusedExpertParallelism) {
  const std::string message = plan_error("llama2", runtime::ParallelLayout(1, 1, 2));
  EXPECT_NE(message.find("ep 2"), std::string::npos) << message;
  EXPECT_NE(message.find("has no experts"), std::string::npos) << message;
}

TEST(ExpertParallel, ATransformerRefusesACommunicatorThatIsNotItsStage) {
  // With tp 1 and ep 2, the stage has two ranks: a communicator of one is not it.
  const auto dir = fixture_models_dir() / "qwen3_moe";
  const auto config = runtime::ModelConfig::load(dir);
  runtime::CpuBackend backend;
  runtime::SingleRankCommunicator alone;
  try {
    runtime::Transformer model(config,
                               runtime::ShardPlan::make(config, runtime::ParallelLayout(1, 1, 2), 0),
                               runtime::Checkpoint::open(dir), backend, alone);
    FAIL() << "ran rank 0 of a two-rank stage alone";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 of 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("communicator is rank 0 of 1"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tessera::testing
