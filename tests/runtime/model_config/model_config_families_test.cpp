// Each supported family parses from a config shaped like the real one on the Hugging Face Hub.
#include <gtest/gtest.h>

#include "runtime/model/model_config.hpp"
#include "tests/runtime/model_config/config_test_support.hpp"

namespace tessera::runtime {
namespace {

using nlohmann::json;

// What the Llama family declares for its attention and MLP holds for every layer alike.
bool qkv_bias(const ModelConfig& c) { return c.stack.layers.at(0).attention.qkv_bias; }
bool o_bias(const ModelConfig& c) { return c.stack.layers.at(0).attention.o_bias; }
bool mlp_bias(const ModelConfig& c) { return c.stack.layers.at(0).mlp.bias; }
bool has_qk_norm(const ModelConfig& c) { return c.stack.layers.at(0).attention.q_norm.has_value(); }

// Meta-Llama-3.1-8B-Instruct/config.json
const json kLlama31 = json::parse(R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256})");

// Mistral-7B-v0.1/config.json
const json kMistral = json::parse(R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000})");

// Qwen2.5-0.5B-Instruct/config.json
const json kQwen2 = json::parse(R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 131072,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})");

// Qwen3-0.6B/config.json as transformers v5 writes it (rope_parameters, dtype).
const json kQwen3 = json::parse(R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
  "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
  "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
  "sliding_window": null, "tie_word_embeddings": true, "dtype": "bfloat16",
  "transformers_version": "5.0.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})");

ModelConfig parse(const json& j) { return ModelConfig::parse(j.dump(), "/models/x/config.json"); }

TEST(ModelConfigFamilies, Llama31) {
  const auto c = parse(kLlama31);
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope().kind, RopeConfig::Kind::llama3);
  EXPECT_DOUBLE_EQ(c.rope().theta, 500000.0);
  EXPECT_DOUBLE_EQ(c.rope().factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope().low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope().high_freq_factor, 4.0);
  EXPECT_EQ(c.rope().original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(qkv_bias(c));
  EXPECT_FALSE(o_bias(c));
  EXPECT_FALSE(mlp_bias(c));
  EXPECT_FALSE(has_qk_norm(c));
  EXPECT_EQ(c.layer_sliding_windows(), std::vector<std::int64_t>(32, 0));
  EXPECT_EQ(c.torch_dtype, "bfloat16");
}

TEST(ModelConfigFamilies, LlamaBiases) {
  auto j = kLlama31;
  j["attention_bias"] = true;
  j["mlp_bias"] = true;
  const auto c = parse(j);
  EXPECT_TRUE(qkv_bias(c));
  EXPECT_TRUE(o_bias(c));
  EXPECT_TRUE(mlp_bias(c));
}

TEST(ModelConfigFamilies, LlamaDefaults) {
  auto j = kLlama31;
  for (const char* key : {"rope_scaling", "rope_theta", "rms_norm_eps", "num_key_value_heads",
                          "tie_word_embeddings", "attention_bias", "mlp_bias", "torch_dtype"}) {
    j.erase(key);
  }
  const auto c = parse(j);
  EXPECT_EQ(c.rope().kind, RopeConfig::Kind::default_);
  EXPECT_DOUBLE_EQ(c.rope().theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_TRUE(c.torch_dtype.empty());
}

TEST(ModelConfigFamilies, LlamaIgnoresSlidingWindowFields) {
  auto j = kLlama31;
  j["sliding_window"] = 128;
  j["layer_types"] = "not even a list";
  EXPECT_EQ(parse(j).layer_sliding_windows(), std::vector<std::int64_t>(32, 0));
}

TEST(ModelConfigFamilies, MistralSlidingWindow) {
  const auto c = parse(kMistral);
  EXPECT_EQ(c.model_type, "mistral");
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.layer_sliding_windows(), std::vector<std::int64_t>(32, 4096));
  EXPECT_FALSE(qkv_bias(c));
  EXPECT_FALSE(o_bias(c));
  EXPECT_FALSE(has_qk_norm(c));
}

TEST(ModelConfigFamilies, MistralWithoutSlidingWindow) {
  auto j = kMistral;
  j["sliding_window"] = nullptr;  // Mistral-7B-v0.2 and later
  EXPECT_EQ(parse(j).layer_sliding_windows(), std::vector<std::int64_t>(32, 0));
  // Absent means HF's MistralConfig default of 4096, as transformers would load it.
  j.erase("sliding_window");
  EXPECT_EQ(parse(j).layer_sliding_windows(), std::vector<std::int64_t>(32, 4096));
}

TEST(ModelConfigFamilies, MistralIgnoresAttentionBias) {
  auto j = kMistral;
  j["attention_bias"] = true;  // MistralAttention hard-codes bias=False
  EXPECT_FALSE(qkv_bias(parse(j)));
}

TEST(ModelConfigFamilies, Qwen2) {
  const auto c = parse(kQwen2);
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_TRUE(qkv_bias(c));
  EXPECT_FALSE(o_bias(c));
  EXPECT_FALSE(mlp_bias(c));
  EXPECT_FALSE(has_qk_norm(c));
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.rope().theta, 1e6);
  EXPECT_EQ(c.layer_sliding_windows(), std::vector<std::int64_t>(24, 0));  // use_sliding_window false
}

TEST(ModelConfigFamilies, Qwen2SlidingWindowAfterMaxWindowLayers) {
  auto j = kQwen2;
  j["use_sliding_window"] = true;
  j["sliding_window"] = 512;
  j["num_hidden_layers"] = 4;
  j["max_window_layers"] = 2;
  EXPECT_EQ(parse(j).layer_sliding_windows(), (std::vector<std::int64_t>{0, 0, 512, 512}));
}

TEST(ModelConfigFamilies, Qwen2LayerTypes) {
  auto j = kQwen2;
  j["use_sliding_window"] = true;
  j["sliding_window"] = 256;
  j["num_hidden_layers"] = 3;
  j["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention"};
  EXPECT_EQ(parse(j).layer_sliding_windows(), (std::vector<std::int64_t>{256, 0, 256}));
  j["use_sliding_window"] = false;  // HF then drops sliding_window, so every layer is full
  EXPECT_EQ(parse(j).layer_sliding_windows(), (std::vector<std::int64_t>{0, 0, 0}));
}

TEST(ModelConfigFamilies, Qwen3WithRopeParameters) {
  const auto c = parse(kQwen3);
  EXPECT_EQ(c.model_type, "qwen3");
  EXPECT_EQ(c.head_dim, 128);  // explicit, not 1024 / 16
  EXPECT_TRUE(has_qk_norm(c));
  EXPECT_FALSE(qkv_bias(c));
  EXPECT_FALSE(o_bias(c));
  EXPECT_EQ(c.rope().kind, RopeConfig::Kind::default_);
  EXPECT_DOUBLE_EQ(c.rope().theta, 1e6);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.layer_sliding_windows(), std::vector<std::int64_t>(28, 0));
}

TEST(ModelConfigFamilies, Qwen3AttentionBiasCoversOProj) {
  auto j = kQwen3;
  j["attention_bias"] = true;
  const auto c = parse(j);
  EXPECT_TRUE(qkv_bias(c));
  EXPECT_TRUE(o_bias(c));
}

TEST(ModelConfigFamilies, NullHeadDimFallsBack) {
  auto j = kQwen3;
  j["head_dim"] = nullptr;
  EXPECT_EQ(parse(j).head_dim, 64);
}

TEST(ModelConfigFamilies, ModelTypeWhenNoArchitectures) {
  auto j = kQwen2;
  j.erase("architectures");
  const auto c = parse(j);
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.architecture, "qwen2");
}

TEST(ModelConfigFamilies, LinearRopeWithLegacyTypeKey) {
  auto j = kLlama31;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  const auto c = parse(j);
  EXPECT_EQ(c.rope().kind, RopeConfig::Kind::linear);
  EXPECT_DOUBLE_EQ(c.rope().factor, 2.0);
  EXPECT_DOUBLE_EQ(c.rope().theta, 500000.0);
}

TEST(ModelConfigFamilies, Llama3RopeParametersSpelling) {
  auto j = kLlama31;
  j.erase("rope_scaling");
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 32.0},
                          {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                          {"original_max_position_embeddings", 8192}};
  const auto c = parse(j);
  EXPECT_EQ(c.rope().kind, RopeConfig::Kind::llama3);
  EXPECT_DOUBLE_EQ(c.rope().theta, 500000.0);
  EXPECT_DOUBLE_EQ(c.rope().factor, 32.0);
}

TEST(ModelConfigFamilies, LoadReadsConfigJson) {
  test::ConfigDir dir;
  dir.write("config.json", kMistral.dump(2));
  EXPECT_EQ(ModelConfig::load(dir.path()).model_type, "mistral");
}

}  // namespace
}  // namespace tessera::runtime
