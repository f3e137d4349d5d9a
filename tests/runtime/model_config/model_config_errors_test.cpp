// Each way config.json can be wrong fails with the right category, naming the file and field.
#include <gtest/gtest.h>

#include "runtime/model/model_config.hpp"
#include "tests/runtime/model_config/config_test_support.hpp"

namespace tessera::runtime {
namespace {

using nlohmann::json;
using C = ErrorCategory;

const char* kSource = "/models/tiny/config.json";

const json kBase = json::parse(R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 256,
  "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 10000.0})");

Error parse_error(const json& j) {
  return test::expect_error([&] { (void)ModelConfig::parse(j.dump(), kSource); });
}

TEST(ModelConfigErrors, BaseParses) { EXPECT_EQ(ModelConfig::parse(kBase.dump(), kSource).head_dim, 16); }

TEST(ModelConfigErrors, HiddenSizeNotDivisibleByHeads) {
  auto j = kBase;
  j["hidden_size"] = 100;
  j["num_attention_heads"] = 3;
  j["num_key_value_heads"] = 3;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "hidden_size (100)", "num_attention_heads (3)"});
}

TEST(ModelConfigErrors, HeadsNotDivisibleByKvHeads) {
  auto j = kBase;
  j["num_key_value_heads"] = 3;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "num_key_value_heads", "(4)", "(3)"});
}

TEST(ModelConfigErrors, UnsupportedRopeType) {
  auto j = kBase;
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}};
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "rope_scaling.rope_type", "yarn"});
}

TEST(ModelConfigErrors, UnsupportedRopeTypeInRopeParameters) {
  auto j = kBase;
  j["rope_parameters"] = {{"rope_type", "dynamic"}, {"rope_theta", 10000.0}, {"factor", 2.0}};
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "rope_parameters.rope_type", "dynamic"});
}

TEST(ModelConfigErrors, RopeScalingWithoutType) {
  auto j = kBase;
  j["rope_scaling"] = {{"factor", 2.0}};
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "rope_scaling.rope_type"});
}

TEST(ModelConfigErrors, Llama3RopeMissingField) {
  auto j = kBase;
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0}};
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "rope_scaling.original_max_position_embeddings"});
}

TEST(ModelConfigErrors, LinearRopeFactorWrongType) {
  auto j = kBase;
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", "2"}};
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "rope_scaling.factor", "a number", "string"});
}

TEST(ModelConfigErrors, UnknownArchitecture) {
  auto j = kBase;
  j["architectures"] = {"GPT2LMHeadModel"};
  test::expect_error_mentions(parse_error(j), C::unsupported,
                        {kSource, "architectures", "GPT2LMHeadModel", "LlamaForCausalLM", "Qwen3ForCausalLM"});
}

TEST(ModelConfigErrors, UnknownModelType) {
  auto j = kBase;
  j.erase("architectures");
  j["model_type"] = "gemma3";
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "model_type", "gemma3", "qwen2"});
}

TEST(ModelConfigErrors, NoArchitectureOrModelType) {
  auto j = kBase;
  j.erase("architectures");
  j.erase("model_type");
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "architectures", "model_type"});
}

TEST(ModelConfigErrors, WrongFieldType) {
  auto j = kBase;
  j["hidden_size"] = "64";
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "hidden_size", "an integer", "string"});
}

TEST(ModelConfigErrors, FloatWhereIntegerExpected) {
  auto j = kBase;
  j["num_hidden_layers"] = 2.5;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "num_hidden_layers", "an integer"});
}

TEST(ModelConfigErrors, BoolFieldWrongType) {
  auto j = kBase;
  j["tie_word_embeddings"] = "yes";
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "tie_word_embeddings", "true or false"});
}

TEST(ModelConfigErrors, MissingRequiredField) {
  auto j = kBase;
  j.erase("vocab_size");
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "vocab_size", "missing"});
}

TEST(ModelConfigErrors, NonPositiveSize) {
  auto j = kBase;
  j["intermediate_size"] = 0;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "intermediate_size", "positive"});
}

TEST(ModelConfigErrors, HugeIntegerOutOfRange) {
  auto j = kBase;
  j["vocab_size"] = 18446744073709551615ull;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "vocab_size", "an integer"});
}

TEST(ModelConfigErrors, LayerTypesWrongLength) {
  auto j = kBase;
  j["architectures"] = {"Qwen3ForCausalLM"};
  j["layer_types"] = {"full_attention"};
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "layer_types", "expected 2", "found 1"});
}

TEST(ModelConfigErrors, LayerTypesUnknownKind) {
  auto j = kBase;
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["layer_types"] = {"full_attention", "chunked_attention"};
  test::expect_error_mentions(parse_error(j), C::unsupported, {kSource, "layer_types", "chunked_attention"});
}

TEST(ModelConfigErrors, SlidingWindowNotPositive) {
  auto j = kBase;
  j["architectures"] = {"MistralForCausalLM"};
  j["sliding_window"] = -5;
  test::expect_error_mentions(parse_error(j), C::config, {kSource, "sliding_window", "-5"});
}

TEST(ModelConfigErrors, MalformedJson) {
  test::expect_error_mentions(test::expect_error([] { (void)ModelConfig::parse("{\"vocab_size\": 12,", kSource); }),
                        C::config, {kSource, "not valid JSON", "parse error"});
}

TEST(ModelConfigErrors, NotAnObject) {
  test::expect_error_mentions(test::expect_error([] { (void)ModelConfig::parse("[1]", kSource); }), C::config,
                        {kSource, "object"});
}

TEST(ModelConfigErrors, LoadMissingFile) {
  test::ConfigDir dir;
  test::expect_error_mentions(test::expect_error([&] { (void)ModelConfig::load(dir.path()); }), C::io,
                        {(dir.path() / "config.json").string()});
}

TEST(ModelConfigErrors, LoadNamesFileInErrors) {
  test::ConfigDir dir;
  dir.write("config.json", "{ oops");
  test::expect_error_mentions(test::expect_error([&] { (void)ModelConfig::load(dir.path()); }), C::config,
                        {(dir.path() / "config.json").string(), "not valid JSON"});
}

}  // namespace
}  // namespace tessera::runtime
