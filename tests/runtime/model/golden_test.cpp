// The CPU engine against HF transformers: for every fixture model, greedy continuations must be
// identical and the last prompt position's logits within 1e-3 (f32 math on both sides).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "runtime/model/greedy_generation.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/models/registry.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

constexpr double kLogitTolerance = 1e-3;

class GoldenModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenModelTest, GreedyTokensAndLogitsMatchTransformers) {
  auto fixture = load_fixture(GetParam());
  const auto eos = runtime::GenerationConfig::load(fixture_models_dir() / GetParam()).eos_token_ids;
  ASSERT_FALSE(fixture->golden.at("cases").empty());
  for (const auto& c : fixture->golden.at("cases")) {
    const auto prompt = c.at("prompt_ids").get<std::vector<std::int32_t>>();
    const auto expected_ids = c.at("generated_ids").get<std::vector<std::int32_t>>();
    const auto expected_logits = c.at("last_prompt_logits").get<std::vector<float>>();

    runtime::GreedyOptions options;
    options.max_new_tokens = c.at("max_new_tokens").get<std::int64_t>();
    options.stop_token_ids = eos;
    options.block_size = 4;  // several blocks per sequence, so paging is exercised
    const auto result = runtime::generate_greedy(*fixture->model, prompt, options);

    EXPECT_EQ(result.token_ids, expected_ids) << "prompt of " << prompt.size() << " tokens";
    ASSERT_EQ(result.last_prompt_logits.size(), expected_logits.size());
    double max_diff = 0.0;
    for (std::size_t i = 0; i < expected_logits.size(); ++i) {
      max_diff = std::max(max_diff, std::abs(static_cast<double>(result.last_prompt_logits[i]) -
                                             expected_logits[i]));
    }
    EXPECT_LT(max_diff, kLogitTolerance) << "prompt of " << prompt.size() << " tokens";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenModelTest, ::testing::ValuesIn(fixture_model_names()),
                         [](const auto& test_param) { return test_param.param; });

TEST(GoldenFixtures, EverySupportedFamilyAndFormatIsCovered) {
  // The fixture set must keep covering what the golden test is meant to prove.
  const auto names = fixture_model_names();
  for (const char* required : {"llama2", "llama3_rope", "llama_linear_f16", "mistral_sliding",
                               "qwen2_bias", "qwen3_qknorm", "gemma3_text"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end())
        << "missing fixture " << required << " in " << fixture_models_dir()
        << " (run tools/make_golden.py on the GPU machine)";
  }
}

TEST(GoldenFixtures, EveryRegisteredArchitectureHasOne) {
  std::set<std::string> covered;
  for (const auto& name : fixture_model_names()) {
    covered.insert(runtime::ModelConfig::load(fixture_models_dir() / name).model_type);
  }
  for (const runtime::Architecture* a : runtime::registered_architectures()) {
    EXPECT_TRUE(covered.contains(std::string(a->model_type())))
        << a->class_name() << " has no golden fixture in " << fixture_models_dir()
        << " (add a spec to tools/make_golden.py and run it on the GPU machine)";
  }
}

}  // namespace
}  // namespace tessera::testing
