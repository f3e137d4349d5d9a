#include <gtest/gtest.h>

#include <string>

#include "runtime/core/error.hpp"
#include "runtime/model/shard_plan.hpp"

namespace tessera::runtime {
namespace {

ModelConfig config_with(std::int64_t heads, std::int64_t kv_heads) {
  ModelConfig c;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.hidden_size = heads * 16;
  c.head_dim = 16;
  c.intermediate_size = 256;
  c.vocab_size = 1024;
  return c;
}

// One mixture-of-experts layer of `experts` experts, each `features` wide.
ModelConfig with_experts(ModelConfig c, std::int64_t experts, std::int64_t features) {
  LayerSpec layer;
  layer.moe = MoeSpec{};
  layer.moe->num_experts = experts;
  layer.moe->top_k = 2;
  layer.moe->features = features;
  c.stack.layers.push_back(layer);
  return c;
}

std::string error_of(const ModelConfig& c, int world) {
  try {
    ShardPlan::make(c, 0, world);
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    return e.what();
  }
  return "";
}

TEST(ShardPlan, SplitsHeadsFeaturesAndVocabulary) {
  const auto plan = ShardPlan::make(config_with(8, 4), 1, 2);
  EXPECT_EQ(plan.heads, 4);
  EXPECT_EQ(plan.head_begin, 4);
  EXPECT_EQ(plan.kv_heads, 2);
  EXPECT_EQ(plan.kv_head_begin, 2);
  EXPECT_FALSE(plan.kv_replicated);
  EXPECT_EQ(plan.intermediate, 128);
  EXPECT_EQ(plan.intermediate_begin, 128);
  EXPECT_EQ(plan.vocab, 512);
  EXPECT_EQ(plan.vocab_begin, 512);
}

TEST(ShardPlan, ReplicatesKvHeadsWhenRanksOutnumberThem) {
  // 8 query heads in 2 groups over 4 ranks: ranks 0-1 use kv head 0, ranks 2-3 kv head 1.
  for (int rank = 0; rank < 4; ++rank) {
    const auto plan = ShardPlan::make(config_with(8, 2), rank, 4);
    EXPECT_TRUE(plan.kv_replicated);
    EXPECT_EQ(plan.kv_heads, 1);
    EXPECT_EQ(plan.kv_head_begin, rank / 2);
    // Every query head of the rank must belong to that kv head's group of 4.
    EXPECT_EQ(plan.head_begin / 4, plan.kv_head_begin);
    EXPECT_EQ((plan.head_begin + plan.heads - 1) / 4, plan.kv_head_begin);
  }
}

TEST(ShardPlan, NamesTheNumbersThatDoNotDivide) {
  const std::string heads = error_of(config_with(6, 2), 4);
  EXPECT_NE(heads.find("6 query heads"), std::string::npos) << heads;
  EXPECT_NE(heads.find("4 tensor-parallel ranks"), std::string::npos) << heads;

  const std::string kv = error_of(config_with(12, 3), 2);
  EXPECT_NE(kv.find("3 key/value heads"), std::string::npos) << kv;

  auto odd_vocab = config_with(8, 8);
  odd_vocab.vocab_size = 1001;
  EXPECT_NE(error_of(odd_vocab, 2).find("1001 vocabulary"), std::string::npos);

  auto odd_ffn = config_with(8, 8);
  odd_ffn.intermediate_size = 100;
  EXPECT_NE(error_of(odd_ffn, 8).find("100 MLP features"), std::string::npos);
}

TEST(ShardPlan, RejectsARankOutsideTheGroup) {
  EXPECT_THROW(ShardPlan::make(config_with(8, 8), 2, 2), Error);
  EXPECT_THROW(ShardPlan::make(config_with(8, 8), 0, 0), Error);
  EXPECT_THROW(ShardPlan::make(config_with(8, 8), ParallelLayout(2, 2, 1), 4), Error);
}

TEST(ShardPlan, TakesItsTensorParallelPlaceAndLayersFromTheLayout) {
  auto config = config_with(8, 4);
  config.num_hidden_layers = 10;
  const ParallelLayout layout(2, 2, 1);  // stages: ranks 0-1 (layers 0-4), 2-3 (layers 5-9)
  const auto plan = ShardPlan::make(config, layout, 3);
  EXPECT_EQ(plan.layout, layout);
  EXPECT_EQ(plan.rank, layout.coordinates(3));
  EXPECT_EQ(plan.tp_rank(), 1);
  EXPECT_EQ(plan.tp_size(), 2);
  EXPECT_EQ(plan.layers, (LayerRange{5, 10}));
  // Its slices are those of tp rank 1 of 2, whatever its stage.
  const auto same_slices = ShardPlan::make(config, 1, 2);
  EXPECT_EQ(plan.heads, same_slices.heads);
  EXPECT_EQ(plan.head_begin, same_slices.head_begin);
  EXPECT_EQ(plan.kv_head_begin, same_slices.kv_head_begin);
  EXPECT_EQ(plan.intermediate_begin, same_slices.intermediate_begin);
  EXPECT_EQ(plan.vocab_begin, same_slices.vocab_begin);
  EXPECT_EQ(ShardPlan::make(config, layout, 0).layers, (LayerRange{0, 5}));

  // Expert ranks beyond tp replicate the dense split: tp 1, ep 2 gives whole layers to both.
  const auto moe = with_experts(config, 8, 64);
  const auto replicated = ShardPlan::make(moe, ParallelLayout(1, 1, 2), 1);
  EXPECT_EQ(replicated.tp_size(), 1);
  EXPECT_EQ(replicated.heads, 8);
  EXPECT_EQ(replicated.vocab, 1024);
}

TEST(ShardPlan, PlacesWholeExpertsOverTheExpertRanksAndSplitsThemOverTheRest) {
  const auto moe = with_experts(config_with(8, 4), 8, 64);
  // tp 2 × ep 2 on two ranks: rank 1 holds experts 4-7 whole.
  const auto both = ShardPlan::make(moe, ParallelLayout(2, 1, 2), 1);
  EXPECT_EQ(both.experts, 4);
  EXPECT_EQ(both.expert_begin, 4);
  EXPECT_EQ(both.expert_shards, 1);
  // tp 4, ep 2: ranks 0-1 and 2-3 are expert groups; rank 3 holds experts 4-7, and with rank 1
  // (the same experts, the other group) splits their features: it takes the second half.
  const auto split = ShardPlan::make(moe, ParallelLayout(4, 1, 2), 3);
  EXPECT_EQ(split.experts, 4);
  EXPECT_EQ(split.expert_begin, 4);
  EXPECT_EQ(split.expert_shards, 2);
  EXPECT_EQ(split.expert_shard, 1);
  // Tensor parallelism alone: every rank holds every expert and a quarter of its features.
  const auto tp_only = ShardPlan::make(moe, 2, 4);
  EXPECT_EQ(tp_only.experts, 8);
  EXPECT_EQ(tp_only.expert_begin, 0);
  EXPECT_EQ(tp_only.expert_shards, 4);
  EXPECT_EQ(tp_only.expert_shard, 2);
}

TEST(ShardPlan, RefusesExpertFeaturesThatDoNotSplit) {
  const auto moe = with_experts(config_with(8, 4), 8, 6);
  const std::string message = error_of(moe, 4);
  EXPECT_NE(message.find("6 features of each expert"), std::string::npos) << message;
  EXPECT_NE(message.find("4 ranks"), std::string::npos) << message;
}

TEST(ShardPlan, NamesTheCommunicatorThatIsNotItsGroup) {
  const auto plan = ShardPlan::make(config_with(8, 8), 1, 2);
  plan.require_group(1, 2);
  try {
    plan.require_group(1, 4);
    FAIL() << "accepted rank 1 of 4 for tensor-parallel rank 1 of 2";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("sharded as rank 1 of 2 (tp 2"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("rank 1 of 4"), std::string::npos);
  }
}

}  // namespace
}  // namespace tessera::runtime
