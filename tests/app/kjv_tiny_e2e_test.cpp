// The bundled demo model end to end through the command line: text in, text out, equal to HF
// transformers' greedy continuations (tests/data/e2e/kjv_tiny.json, made by
// tools/train_demo_model.py) at tensor-parallel sizes 1 and 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/cli_runner.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

const std::filesystem::path kModel = std::filesystem::path(TESSERA_SOURCE_DIR) / "models/kjv-tiny";

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class KjvTinyEndToEnd : public ::testing::TestWithParam<int> {};

TEST_P(KjvTinyEndToEnd, GreedyTextMatchesTransformers) {
  const auto fixture = read_json_file(std::filesystem::path(TESSERA_TEST_DATA_DIR) / "e2e/kjv_tiny.json");
  ASSERT_FALSE(fixture.at("cases").empty());
  for (const auto& c : fixture.at("cases")) {
    const auto prompt = c.at("prompt").get<std::string>();
    const auto r = run_tessera("generate --model " + shell_quote(kModel.string()) + " --prompt " +
                               shell_quote(prompt) + " --max-tokens " +
                               std::to_string(fixture.at("max_new_tokens").get<int>()) +
                               " --temperature 0 --json --tp " + std::to_string(GetParam()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto out = nlohmann::json::parse(r.out);
    EXPECT_EQ(out.at("prompt_tokens").get<std::size_t>(), c.at("prompt_ids").size()) << prompt;
    EXPECT_EQ(out.at("token_ids"), c.at("generated_ids")) << prompt;
    EXPECT_EQ(out.at("text"), c.at("generated_text")) << prompt;
  }
}

INSTANTIATE_TEST_SUITE_P(TensorParallel, KjvTinyEndToEnd, ::testing::Values(1, 2),
                         [](const auto& test_param) { return "tp" + std::to_string(test_param.param); });

TEST(KjvTinyEndToEnd, PromptIsEncodedAsTransformersDid) {
  const auto fixture = read_json_file(std::filesystem::path(TESSERA_TEST_DATA_DIR) / "e2e/kjv_tiny.json");
  std::string input;
  for (const auto& c : fixture.at("cases")) input += c.at("prompt").get<std::string>() + "\n";
  const auto r = run_tessera("tokenize --add-special-tokens --model " + shell_quote(kModel.string()),
                             input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  for (const auto& c : fixture.at("cases")) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(nlohmann::json::parse(line), c.at("prompt_ids"));
  }
}

}  // namespace
}  // namespace tessera::testing
