// Mixture-of-experts configs parse into the stacks HF builds, shaped like the released configs
// of Mixtral-8x7B, Qwen1.5-MoE-A2.7B and Qwen3-30B-A3B, and every MoE field is validated with the
// field named.
#include <gtest/gtest.h>

#include "runtime/model/model_config.hpp"
#include "tests/runtime/model_config/config_test_support.hpp"

namespace tessera::runtime {
namespace {

using nlohmann::json;
using C = ErrorCategory;

const char* kSource = "/models/moe/config.json";

const json kMixtral8x7b = json::parse(R"({
  "architectures": ["MixtralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1,
  "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mixtral",
  "num_attention_heads": 32, "num_experts_per_tok": 2, "num_hidden_layers": 32,
  "num_key_value_heads": 8, "num_local_experts": 8, "output_router_logits": false,
  "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "router_aux_loss_coef": 0.02,
  "sliding_window": null, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "vocab_size": 32000})");

const json kQwen15MoeA27b = json::parse(R"({
  "architectures": ["Qwen2MoeForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "decoder_sparse_step": 1, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 2048,
  "intermediate_size": 5632, "max_position_embeddings": 8192, "max_window_layers": 21,
  "model_type": "qwen2_moe", "moe_intermediate_size": 1408, "norm_topk_prob": false,
  "num_attention_heads": 16, "num_experts": 60, "num_experts_per_tok": 4,
  "num_hidden_layers": 24, "num_key_value_heads": 16, "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0, "shared_expert_intermediate_size": 5632, "sliding_window": 32768,
  "tie_word_embeddings": false, "use_sliding_window": false, "vocab_size": 151936})");

const json kQwen3_30bA3b = json::parse(R"({
  "architectures": ["Qwen3MoeForCausalLM"], "attention_bias": false, "bos_token_id": 151643,
  "decoder_sparse_step": 1, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 2048, "intermediate_size": 6144, "max_position_embeddings": 40960,
  "max_window_layers": 48, "mlp_only_layers": [], "model_type": "qwen3_moe",
  "moe_intermediate_size": 768, "norm_topk_prob": true, "num_attention_heads": 32,
  "num_experts": 128, "num_experts_per_tok": 8, "num_hidden_layers": 48,
  "num_key_value_heads": 4, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0,
  "sliding_window": null, "tie_word_embeddings": false, "use_sliding_window": false,
  "vocab_size": 151936})");

ModelConfig parse(const json& j) { return ModelConfig::parse(j.dump(), kSource); }
Error parse_error(const json& j) {
  return test::expect_error([&] { (void)ModelConfig::parse(j.dump(), kSource); });
}

TEST(ModelConfigMoe, Mixtral8x7b) {
  const auto c = parse(kMixtral8x7b);
  ASSERT_EQ(c.stack.layers.size(), 32u);
  for (const LayerSpec& l : c.stack.layers) {
    ASSERT_TRUE(l.moe.has_value());
    EXPECT_EQ(l.moe->num_experts, 8);
    EXPECT_EQ(l.moe->top_k, 2);
    EXPECT_EQ(l.moe->features, 14336);  // each expert is intermediate_size wide
    EXPECT_TRUE(l.moe->normalize_top_k);
    EXPECT_FALSE(l.moe->shared_expert.has_value());
    EXPECT_EQ(l.attention.window, 0);  // sliding_window null
  }
  const MoeSpec& first = *c.stack.layers[0].moe;
  EXPECT_EQ(first.router, "model.layers.0.block_sparse_moe.gate");
  EXPECT_EQ(first.expert(7, first.down), "model.layers.0.block_sparse_moe.experts.7.w2");
  EXPECT_EQ(first.expert(3, first.up), "model.layers.0.block_sparse_moe.experts.3.w3");
}

TEST(ModelConfigMoe, MixtralWithoutASlidingWindowFieldHasNone) {
  json j = kMixtral8x7b;
  j.erase("sliding_window");  // MixtralConfig's default is None, unlike Mistral's 4096
  EXPECT_EQ(parse(j).stack.layers[0].attention.window, 0);
}

TEST(ModelConfigMoe, Qwen15MoeA27b) {
  const auto c = parse(kQwen15MoeA27b);
  ASSERT_EQ(c.stack.layers.size(), 24u);
  const LayerSpec& l = c.stack.layers[5];
  ASSERT_TRUE(l.moe.has_value());
  EXPECT_TRUE(l.attention.qkv_bias);
  EXPECT_EQ(l.moe->num_experts, 60);
  EXPECT_EQ(l.moe->top_k, 4);
  EXPECT_EQ(l.moe->features, 1408);
  EXPECT_FALSE(l.moe->normalize_top_k);
  ASSERT_TRUE(l.moe->shared_expert.has_value());
  EXPECT_EQ(l.moe->shared_expert->mlp.features, 5632);
  EXPECT_EQ(l.moe->shared_expert->mlp.down, "model.layers.5.mlp.shared_expert.down_proj");
  EXPECT_EQ(l.moe->shared_expert->gate, "model.layers.5.mlp.shared_expert_gate");
  EXPECT_EQ(l.moe->expert(59, l.moe->gate), "model.layers.5.mlp.experts.59.gate_proj");
}

TEST(ModelConfigMoe, Qwen3_30bA3b) {
  const auto c = parse(kQwen3_30bA3b);
  ASSERT_EQ(c.stack.layers.size(), 48u);
  for (const LayerSpec& l : c.stack.layers) {
    ASSERT_TRUE(l.moe.has_value());
    EXPECT_EQ(l.moe->num_experts, 128);
    EXPECT_EQ(l.moe->top_k, 8);
    EXPECT_EQ(l.moe->features, 768);
    EXPECT_TRUE(l.moe->normalize_top_k);
    EXPECT_FALSE(l.moe->shared_expert.has_value());
    EXPECT_TRUE(l.attention.q_norm.has_value());
  }
}

TEST(ModelConfigMoe, QwenSparseLayersFollowTheStepAndTheDenseList) {
  json j = kQwen3_30bA3b;
  j["num_hidden_layers"] = 6;
  j["decoder_sparse_step"] = 2;  // layers 1, 3, 5
  j["mlp_only_layers"] = {3};
  const auto c = parse(j);
  const std::vector<bool> expected{false, true, false, false, false, true};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(c.stack.layers[i].moe.has_value(), expected[i]) << "layer " << i;
  }
}

TEST(ModelConfigMoe, TransformersFiveSpellingOfTheExpertCountIsRead) {
  json j = kQwen3_30bA3b;
  j.erase("num_experts");
  j["num_local_experts"] = 64;
  EXPECT_EQ(parse(j).stack.layers[0].moe->num_experts, 64);
  j["num_experts"] = 32;  // both, disagreeing
  test::expect_error_mentions(parse_error(j), C::config,
                              {kSource, "num_experts", "num_local_experts"});
}

TEST(ModelConfigMoe, RefusesFieldsOutOfRangeNamingThem) {
  json j = kQwen3_30bA3b;
  j["num_experts_per_tok"] = 129;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "num_experts_per_tok", "128"});
  j = kQwen3_30bA3b;
  j["num_experts_per_tok"] = 0;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "num_experts_per_tok"});
  j = kQwen3_30bA3b;
  j["mlp_only_layers"] = {48};
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "mlp_only_layers", "48"});
  j = kQwen3_30bA3b;
  j["decoder_sparse_step"] = 0;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "decoder_sparse_step"});
  j = kQwen3_30bA3b;
  j["num_experts"] = 1 << 20;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "num_experts"});
  j = kMixtral8x7b;
  j["num_local_experts"] = "eight";
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "num_local_experts"});
  j = kQwen15MoeA27b;
  j["shared_expert_intermediate_size"] = -1;
  test::expect_error_mentions(parse_error(j), C::config,
                              {kSource, "shared_expert_intermediate_size"});
}

TEST(ModelConfigMoe, RefusesExpertsTooLargeForAnyMachine) {
  json j = kQwen3_30bA3b;
  j["num_experts"] = 4096;
  j["moe_intermediate_size"] = 1 << 22;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "weights"});
}

}  // namespace
}  // namespace tessera::runtime
