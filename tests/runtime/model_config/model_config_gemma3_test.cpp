// Gemma 3 text configs parse into the stack HF's Gemma3ForCausalLM builds: shaped like
// google/gemma-3-1b-it's config.json (transformers v4 spelling) and like transformers v5 writes it.
#include <gtest/gtest.h>

#include "runtime/model/model_config.hpp"
#include "tests/runtime/model_config/config_test_support.hpp"

namespace tessera::runtime {
namespace {

using nlohmann::json;
using C = ErrorCategory;

const char* kSource = "/models/gemma/config.json";

const json kGemma3_1b = json::parse(R"({
  "architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "attn_logit_softcapping": null, "bos_token_id": 2, "cache_implementation": "hybrid",
  "eos_token_id": [1, 106], "final_logit_softcapping": null, "head_dim": 256,
  "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152, "initializer_range": 0.02,
  "intermediate_size": 6912, "max_position_embeddings": 32768, "model_type": "gemma3_text",
  "num_attention_heads": 4, "num_hidden_layers": 26, "num_key_value_heads": 1, "pad_token_id": 0,
  "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000,
  "rope_scaling": null, "rope_theta": 1000000, "sliding_window": 512, "sliding_window_pattern": 6,
  "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0", "use_cache": true,
  "vocab_size": 262144})");

ModelConfig parse(const json& j) { return ModelConfig::parse(j.dump(), kSource); }
Error parse_error(const json& j) {
  return test::expect_error([&] { (void)ModelConfig::parse(j.dump(), kSource); });
}

TEST(ModelConfigGemma3, OneBillionInstruct) {
  const auto c = parse(kGemma3_1b);
  EXPECT_EQ(c.model_type, "gemma3_text");
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_TRUE(c.tie_word_embeddings);  // Gemma3TextConfig's default
  EXPECT_EQ(c.stack.lm_head, "model.embed_tokens.weight");
  // sqrt(1152) = 33.94 rounds to 34 in bf16 (8 significant bits: steps of 0.25 above 32).
  EXPECT_FLOAT_EQ(c.stack.embedding_scale, 34.0f);
  ASSERT_EQ(c.stack.ropes.size(), 2u);
  EXPECT_DOUBLE_EQ(c.stack.ropes[0].theta, 1e6);  // global layers
  EXPECT_EQ(c.stack.ropes[0].kind, RopeConfig::Kind::default_);
  EXPECT_DOUBLE_EQ(c.stack.ropes[1].theta, 1e4);  // sliding layers
  EXPECT_FLOAT_EQ(c.stack.final_norm.weight_offset, 1.0f);
  ASSERT_EQ(c.stack.layers.size(), 26u);
  for (std::size_t i = 0; i < 26; ++i) {
    const LayerSpec& l = c.stack.layers[i];
    const bool global = (i + 1) % 6 == 0;  // layers 5, 11, 17, 23
    EXPECT_EQ(l.attention.window, global ? 0 : 512) << "layer " << i;
    EXPECT_EQ(l.attention.rope, global ? 0u : 1u) << "layer " << i;
    EXPECT_FLOAT_EQ(l.attention.softmax_scale, 1.0f / 16.0f);  // 256^-0.5
    ASSERT_TRUE(l.attention.q_norm && l.attention.k_norm);
    EXPECT_FLOAT_EQ(l.attention.q_norm->weight_offset, 1.0f);
    EXPECT_FALSE(l.attention.qkv_bias || l.attention.o_bias);
    EXPECT_FLOAT_EQ(l.input_norm.weight_offset, 1.0f);
    ASSERT_TRUE(l.attention_output_norm && l.mlp_output_norm);
    EXPECT_EQ(l.attention_output_norm->tensor,
              "model.layers." + std::to_string(i) + ".post_attention_layernorm.weight");
    EXPECT_EQ(l.mlp_norm.tensor,
              "model.layers." + std::to_string(i) + ".pre_feedforward_layernorm.weight");
    EXPECT_EQ(l.mlp_output_norm->tensor,
              "model.layers." + std::to_string(i) + ".post_feedforward_layernorm.weight");
    EXPECT_EQ(l.mlp.activation, Activation::gelu_tanh);
  }
}

TEST(ModelConfigGemma3, TransformersV5RopeParametersPerLayerType) {
  auto j = kGemma3_1b;
  for (const char* key : {"rope_theta", "rope_local_base_freq", "rope_scaling", "sliding_window_pattern"}) {
    j.erase(key);
  }
  j["num_hidden_layers"] = 3;
  j["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention"};
  j["rope_parameters"] = {
      {"full_attention", {{"rope_type", "linear"}, {"factor", 8.0}, {"rope_theta", 1e6}}},
      {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 1e4}}}};
  const auto c = parse(j);
  EXPECT_EQ(c.stack.ropes[0].kind, RopeConfig::Kind::linear);
  EXPECT_DOUBLE_EQ(c.stack.ropes[0].factor, 8.0);
  EXPECT_DOUBLE_EQ(c.stack.ropes[1].theta, 1e4);
  EXPECT_EQ(c.layer_sliding_windows(), (std::vector<std::int64_t>{512, 0, 512}));
}

TEST(ModelConfigGemma3, DefaultsAreGemma3TextConfigs) {
  auto j = kGemma3_1b;
  for (const char* key : {"head_dim", "query_pre_attn_scalar", "sliding_window",
                          "sliding_window_pattern", "rope_theta", "rope_local_base_freq",
                          "hidden_activation", "torch_dtype"}) {
    j.erase(key);
  }
  const auto c = parse(j);
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_FLOAT_EQ(c.stack.layers[0].attention.softmax_scale, 1.0f / 16.0f);
  EXPECT_EQ(c.stack.layers[0].attention.window, 4096);
  EXPECT_EQ(c.stack.layers[5].attention.window, 0);
  EXPECT_DOUBLE_EQ(c.stack.ropes[0].theta, 1e6);
  EXPECT_DOUBLE_EQ(c.stack.ropes[1].theta, 1e4);
  EXPECT_FLOAT_EQ(c.stack.embedding_scale, 33.941125f);  // f32: no rounding to bf16
}

TEST(ModelConfigGemma3, AFloat16CheckpointScalesBySqrtHiddenInFloat16) {
  auto j = kGemma3_1b;
  j["torch_dtype"] = "float16";
  // sqrt(1152) = 33.9411 to 11 significant bits: steps of 1/32 above 32, so 33.9375.
  EXPECT_FLOAT_EQ(parse(j).stack.embedding_scale, 33.9375f);
}

TEST(ModelConfigGemma3, WhatItCannotRunIsRefusedByName) {
  auto j = kGemma3_1b;
  j["attn_logit_softcapping"] = 50.0;
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "attn_logit_softcapping"});
  j = kGemma3_1b;
  j["final_logit_softcapping"] = 30.0;
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "final_logit_softcapping"});
  j = kGemma3_1b;
  j["hidden_activation"] = "gelu";
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "hidden_activation", "'gelu'"});
  j = kGemma3_1b;
  j["use_bidirectional_attention"] = true;
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "use_bidirectional_attention"});
  j = kGemma3_1b;
  j["query_pre_attn_scalar"] = 0;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "query_pre_attn_scalar"});
  j = kGemma3_1b;
  j["layer_types"] = {"full_attention"};
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "layer_types", "26"});
}

TEST(ModelConfigGemma3, UnknownArchitecturesStillNameTheField) {
  auto j = kGemma3_1b;
  j["architectures"] = {"Gemma4ForCausalLM"};
  test::expect_error_mentions(parse_error(j), C::unsupported,
                              {kSource, "architectures", "Gemma4ForCausalLM", "Gemma3ForCausalLM"});
}

}  // namespace
}  // namespace tessera::runtime
