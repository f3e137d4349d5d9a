// Hostile config.json / generation_config.json values: sizes that would allocate or loop before
// any check, and deep nesting. Each must be refused at once with the field and the bound named.
#include <gtest/gtest.h>

#include <string>

#include "runtime/model/model_config.hpp"
#include "runtime/model/model_config_limits.hpp"
#include "tests/runtime/model_config/config_test_support.hpp"

namespace tessera::runtime {
namespace {

using nlohmann::json;
using C = ErrorCategory;
namespace limits = config_limits;

const char* kSource = "/models/hostile/config.json";

const json kBase = json::parse(R"({
  "architectures": ["Qwen2ForCausalLM"], "vocab_size": 256, "hidden_size": 64,
  "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 512})");

Error parse_error(const json& j) {
  return test::expect_error([&] { (void)ModelConfig::parse(j.dump(), kSource); });
}

// Before the bound, 1e9 layers sized an 8-GB per-layer table and 2^62 threw std::length_error.
TEST(ModelConfigLimits, HugeLayerCountIsRefusedBeforeAllocating) {
  for (const std::int64_t layers : {std::int64_t{1'000'000'000}, std::int64_t{1} << 62}) {
    auto j = kBase;
    j["num_hidden_layers"] = layers;
    test::expect_error_mentions(parse_error(j), C::config,
                                {kSource, "num_hidden_layers", std::to_string(layers),
                                 "limit of " + std::to_string(limits::kMaxLayers)});
  }
}

TEST(ModelConfigLimits, LayerCountAtTheBoundIsAccepted) {
  auto j = kBase;
  j["num_hidden_layers"] = limits::kMaxLayers;
  EXPECT_EQ(ModelConfig::parse(j.dump(), kSource).layer_sliding_windows().size(),
            static_cast<std::size_t>(limits::kMaxLayers));
}

TEST(ModelConfigLimits, EverySizeFieldNamesItsBound) {
  const std::pair<const char*, std::int64_t> fields[] = {
      {"vocab_size", limits::kMaxVocabSize},
      {"hidden_size", limits::kMaxHiddenSize},
      {"intermediate_size", limits::kMaxIntermediateSize},
      {"num_attention_heads", limits::kMaxHeads},
      {"num_key_value_heads", limits::kMaxHeads},
      {"head_dim", limits::kMaxHeadDim},
      {"max_position_embeddings", limits::kMaxPositions},
  };
  for (const auto& [field, bound] : fields) {
    auto j = kBase;
    j[field] = bound + 1;
    test::expect_error_mentions(parse_error(j), C::config,
                                {kSource, field, "limit of " + std::to_string(bound)});
  }
}

TEST(ModelConfigLimits, DerivedHeadDimIsBounded) {
  auto j = kBase;
  j["hidden_size"] = limits::kMaxHiddenSize;
  j["num_attention_heads"] = 2;
  j["num_key_value_heads"] = 2;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "head_dim", "limit"});
}

// Fields each within bounds whose product describes trillions of weights.
TEST(ModelConfigLimits, ImpliedWeightCountIsBounded) {
  auto j = kBase;
  j["num_hidden_layers"] = limits::kMaxLayers;
  j["hidden_size"] = limits::kMaxHiddenSize;
  j["intermediate_size"] = limits::kMaxIntermediateSize;
  j["num_attention_heads"] = 256;
  j["num_key_value_heads"] = 256;
  test::expect_error_mentions(parse_error(j), C::config,
                              {kSource, "weights", std::to_string(limits::kMaxParameters)});
}

std::string nested_list(int depth, const std::string& leaf) {
  return std::string(static_cast<std::size_t>(depth), '[') + leaf +
         std::string(static_cast<std::size_t>(depth), ']');
}

// 100,000 levels inside a field: refused while parsing, never recursed over.
TEST(ModelConfigLimits, DeeplyNestedValueIsRefused) {
  const std::string text = R"({"architectures": ["LlamaForCausalLM"], "rope_scaling": )" +
                           nested_list(100'000, "1") + "}";
  test::expect_error_mentions(test::expect_error([&] { (void)ModelConfig::parse(text, kSource); }),
                              C::config, {kSource, "nests deeper than"});
}

// A nested value of the wrong type, within the depth bound, is reported by its shape only.
TEST(ModelConfigLimits, NestedValueOfWrongTypeNamesTheField) {
  auto j = kBase;
  j["hidden_size"] = json::parse(nested_list(100, "64"));
  const Error e = parse_error(j);
  test::expect_error_mentions(e, C::config, {kSource, "hidden_size", "an integer", "a list of 1"});
  EXPECT_LT(std::string(e.what()).size(), 300u);
  j = kBase;
  j["layer_types"] = {"full_attention", json::parse(nested_list(100, "2"))};
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "layer_types", "entry 1"});
}

TEST(ModelConfigLimits, NumberOverflowingADoubleIsAConfigError) {
  const std::string text = R"({"architectures": ["LlamaForCausalLM"], "rms_norm_eps": 1e400})";
  test::expect_error_mentions(test::expect_error([&] { (void)ModelConfig::parse(text, kSource); }),
                              C::config, {kSource, "not valid JSON"});
}

TEST(ModelConfigLimits, HugeConfigFileIsRefusedUnread) {
  test::ConfigDir dir;
  dir.write("config.json", kBase.dump());
  std::filesystem::resize_file(dir / "config.json", limits::kMaxConfigFileBytes + 1);  // sparse
  test::expect_error_mentions(test::expect_error([&] { (void)ModelConfig::load(dir.path()); }),
                              C::config,
                              {(dir / "config.json").string(), std::to_string(limits::kMaxConfigFileBytes)});
}

TEST(GenerationConfigLimits, TokenIdsAreBounded) {
  const char* source = "/m/generation_config.json";
  for (const char* text : {R"({"eos_token_id": 4611686018427387904})",
                           R"({"eos_token_id": [1, 16777216]})", R"({"bos_token_id": 99999999999})",
                           R"({"pad_token_id": 9223372036854775807})"}) {
    test::expect_error_mentions(
        test::expect_error([&] { (void)GenerationConfig::parse(text, source); }), C::config,
        {source, "_token_id", "limit of " + std::to_string(limits::kMaxVocabSize)});
  }
}

TEST(GenerationConfigLimits, EosListIsBounded) {
  json j;
  j["eos_token_id"] = json::array();
  for (int i = 0; i <= limits::kMaxEosTokenIds; ++i) j["eos_token_id"].push_back(i);
  test::expect_error_mentions(
      test::expect_error([&] { (void)GenerationConfig::parse(j.dump(), "/m/g.json"); }), C::config,
      {"/m/g.json", "eos_token_id", std::to_string(limits::kMaxEosTokenIds)});
}

TEST(GenerationConfigLimits, DeepNestingIsRefused) {
  const std::string text = R"({"eos_token_id": )" + nested_list(50'000, "2") + "}";
  test::expect_error_mentions(
      test::expect_error([&] { (void)GenerationConfig::parse(text, "/m/g.json"); }), C::config,
      {"/m/g.json", "nests deeper than"});
}

}  // namespace
}  // namespace tessera::runtime
