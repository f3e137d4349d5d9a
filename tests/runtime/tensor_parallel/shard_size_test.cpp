// A shard holds only its slices: every rank's weight count equals what its ShardPlan says it
// should load, and a TP=2 rank holds about half of the layer weights of the whole model. With
// expert parallelism (tp 1, ep 2) each rank holds half of every layer's experts.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "runtime/comm/gloo_communicator.hpp"
#include "tests/runtime/comm/thread_ranks.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

// Elements one rank must load, derived from the config and the plan (not from Transformer).
std::int64_t expected_parameters(const runtime::ModelConfig& c, const runtime::ShardPlan& p) {
  const std::int64_t h = c.hidden_size;
  const std::int64_t d = c.head_dim;
  const std::int64_t qkv_rows = (p.heads + 2 * p.kv_heads) * d;
  const bool rank0 = p.tp_rank() == 0;
  std::int64_t layers = 0;
  for (const runtime::LayerSpec& l : c.stack.layers) {
    std::int64_t layer = 2 * h;                       // input and post-attention norms
    if (l.attention_output_norm) layer += h;          // Gemma's norms after each sublayer
    if (l.mlp_output_norm) layer += h;
    layer += qkv_rows * h + p.heads * d * h;          // q/k/v slices and o_proj columns
    if (l.moe) {
      const runtime::MoeSpec& moe = *l.moe;
      layer += moe.num_experts * h;  // the router, replicated
      layer += p.experts * 3 * (moe.features / p.expert_shards) * h;  // its experts' slices
      if (moe.shared_expert && p.rank.tp_group == 0) {
        layer += 3 * (moe.shared_expert->mlp.features / p.tp_size()) * h + h;  // and its gate
      }
    } else {
      layer += 2 * p.intermediate * h + h * p.intermediate;  // gate/up slices and down columns
    }
    if (l.attention.qkv_bias) layer += qkv_rows;
    if (l.attention.q_norm) layer += 2 * d;
    if (l.attention.o_bias && rank0) layer += h;      // row-parallel biases: rank 0 adds them
    if (l.mlp.bias && !l.moe) layer += 2 * p.intermediate + (rank0 ? h : 0);
    layers += layer;
  }
  return c.vocab_size * h + h + p.vocab * h + layers;
}

class ShardSizeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ShardSizeTest, EachTwoWayRankHoldsOnlyItsSlices) {
  const auto dir = fixture_models_dir() / GetParam();
  const auto config = runtime::ModelConfig::load(dir);
  const std::int64_t whole = load_fixture(GetParam())->model->parameter_count();
  EXPECT_EQ(whole, expected_parameters(config, runtime::ShardPlan::make(config, 0, 1)));
  // The embedding, the norms and the routers are replicated; everything else splits.
  std::int64_t replicated = config.vocab_size * config.hidden_size +
                            config.hidden_size * (1 + 2 * config.num_hidden_layers);
  for (const runtime::LayerSpec& l : config.stack.layers) {
    if (l.moe) replicated += l.moe->num_experts * config.hidden_size;
  }

  auto store = runtime::make_in_process_store();
  std::vector<std::int64_t> counts(2);
  run_ranks(2, [&](int rank) {
    runtime::CpuBackend backend;
    runtime::GlooCommunicator communicator(store, rank, 2);
    const auto plan = runtime::ShardPlan::make(config, rank, 2);
    runtime::Transformer model(config, plan, runtime::Checkpoint::open(dir), backend,
                               communicator);
    counts[static_cast<std::size_t>(rank)] = model.parameter_count();
    EXPECT_EQ(model.parameter_count(), expected_parameters(config, plan)) << "rank " << rank;
  });
  for (const std::int64_t count : counts) {
    const double split_fraction =
        static_cast<double>(count - replicated) / static_cast<double>(whole - replicated);
    EXPECT_NEAR(split_fraction, 0.5, 0.02);
  }
}

class ExpertShardSizeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExpertShardSizeTest, EachExpertParallelRankHoldsHalfOfTheExperts) {
  const auto dir = fixture_models_dir() / GetParam();
  const auto config = runtime::ModelConfig::load(dir);
  const runtime::ParallelLayout layout(1, 1, 2);
  const auto& layers = config.stack.layers;
  const auto sparse = std::find_if(layers.begin(), layers.end(),
                                   [](const runtime::LayerSpec& l) { return l.moe.has_value(); });
  ASSERT_NE(sparse, layers.end());
  auto store = runtime::make_in_process_store();
  run_ranks(2, [&](int rank) {
    runtime::CpuBackend backend;
    runtime::GlooCommunicator communicator(store, rank, 2);
    const auto plan = runtime::ShardPlan::make(config, layout, rank);
    EXPECT_EQ(plan.experts * 2, sparse->moe->num_experts);
    runtime::Transformer model(config, plan, runtime::Checkpoint::open(dir), backend,
                               communicator);
    EXPECT_EQ(model.parameter_count(), expected_parameters(config, plan)) << "rank " << rank;
  });
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ShardSizeTest, ::testing::ValuesIn(fixture_model_names()),
                         [](const auto& test_param) { return test_param.param; });

INSTANTIATE_TEST_SUITE_P(Fixtures, ExpertShardSizeTest,
                         ::testing::ValuesIn(moe_fixture_model_names()),
                         [](const auto& test_param) { return test_param.param; });

}  // namespace
}  // namespace tessera::testing
