// GenerationConfig: end-of-sequence ids in every shape HF writes them, and where they come from.
#include <gtest/gtest.h>

#include "runtime/model/model_config.hpp"
#include "tests/runtime/model_config/config_test_support.hpp"

namespace tessera::runtime {
namespace {

using C = ErrorCategory;
using Ids = std::vector<std::int64_t>;

GenerationConfig parse(const std::string& text) { return GenerationConfig::parse(text, "/m/generation_config.json"); }

TEST(GenerationConfig, EosAsList) {
  const auto g = parse(R"({"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "do_sample": true})");
  EXPECT_EQ(g.eos_token_ids, (Ids{128001, 128008, 128009}));
  EXPECT_EQ(g.bos_token_id, 128000);
  EXPECT_FALSE(g.pad_token_id.has_value());
}

TEST(GenerationConfig, EosAsInt) {
  const auto g = parse(R"({"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0})");
  EXPECT_EQ(g.eos_token_ids, (Ids{2}));
  EXPECT_EQ(g.pad_token_id, 0);
}

TEST(GenerationConfig, EosNull) {
  const auto g = parse(R"({"eos_token_id": null, "bos_token_id": null})");
  EXPECT_TRUE(g.eos_token_ids.empty());
  EXPECT_FALSE(g.bos_token_id.has_value());
}

TEST(GenerationConfig, NegativePadMeansNone) {
  EXPECT_FALSE(parse(R"({"pad_token_id": -1})").pad_token_id.has_value());
}

TEST(GenerationConfig, EosWrongType) {
  test::expect_error_mentions(test::expect_error([] { (void)parse(R"({"eos_token_id": "</s>"})"); }), C::config,
                        {"/m/generation_config.json", "eos_token_id", "string"});
}

TEST(GenerationConfig, EosListWithBadEntry) {
  test::expect_error_mentions(test::expect_error([] { (void)parse(R"({"eos_token_id": [2, -7]})"); }), C::config,
                        {"/m/generation_config.json", "eos_token_id", "-7"});
}

TEST(GenerationConfig, MalformedJson) {
  test::expect_error_mentions(test::expect_error([] { (void)parse("{\"eos_token_id\": [2,"); }), C::config,
                        {"/m/generation_config.json", "not valid JSON"});
}

TEST(GenerationConfig, LoadPrefersGenerationConfig) {
  test::ConfigDir dir;
  dir.write("generation_config.json", R"({"eos_token_id": [7, 8]})");
  dir.write("config.json", R"({"eos_token_id": 2})");
  EXPECT_EQ(GenerationConfig::load(dir.path()).eos_token_ids, (Ids{7, 8}));
}

TEST(GenerationConfig, LoadFallsBackToConfigJson) {
  test::ConfigDir dir;
  dir.write("config.json", R"({"architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2})");
  const auto g = GenerationConfig::load(dir.path());
  EXPECT_EQ(g.eos_token_ids, (Ids{2}));
  EXPECT_EQ(g.bos_token_id, 1);
}

TEST(GenerationConfig, LoadWithNeitherFileIsEmpty) {
  test::ConfigDir dir;
  const auto g = GenerationConfig::load(dir.path());
  EXPECT_TRUE(g.eos_token_ids.empty());
  EXPECT_FALSE(g.bos_token_id.has_value());
}

TEST(GenerationConfig, LoadNamesBrokenFile) {
  test::ConfigDir dir;
  dir.write("generation_config.json", "not json");
  test::expect_error_mentions(test::expect_error([&] { (void)GenerationConfig::load(dir.path()); }), C::config,
                        {(dir.path() / "generation_config.json").string()});
}

}  // namespace
}  // namespace tessera::runtime
