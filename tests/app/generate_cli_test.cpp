// `tessera generate` end to end: its JSON output and logits file against the HF golden data, and
// clear errors with a non-zero exit (never a crash) for bad flags and bad checkpoints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/cli_runner.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

std::string ids_flag(const nlohmann::json& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + std::to_string(id.get<int>());
  return out;
}

std::string model_flag(const std::string& name) {
  return "--model '" + (fixture_models_dir() / name).string() + "'";
}

TEST(GenerateCli, JsonTokensAndLogitsFileMatchTheGolden) {
  const std::string name = "qwen3_qknorm";
  const auto golden = read_json_file(fixture_models_dir() / name / "golden.json");
  const auto& c = golden.at("cases").at(0);
  const auto logits_path = std::filesystem::temp_directory_path() /
                           ("tessera-logits-" + std::to_string(::getpid()) + ".json");
  const auto r = run_tessera("generate " + model_flag(name) + " --prompt-ids " +
                             ids_flag(c.at("prompt_ids")) + " --max-tokens " +
                             std::to_string(c.at("max_new_tokens").get<int>()) +
                             " --temperature 0 --json --logits-out '" + logits_path.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("token_ids"), c.at("generated_ids"));
  const auto logits = read_json_file(logits_path).get<std::vector<double>>();
  const auto expected = c.at("last_prompt_logits").get<std::vector<double>>();
  ASSERT_EQ(logits.size(), expected.size());
  for (std::size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(logits[i], expected[i], 1e-3);
  std::filesystem::remove(logits_path);
}

void expect_clean_failure(const std::string& arguments, const std::string& must_mention) {
  const auto r = run_tessera(arguments);
  EXPECT_EQ(r.exit_code, 1) << "arguments: " << arguments << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(must_mention), std::string::npos)
      << "stderr should mention '" << must_mention << "' but was: " << r.err;
}

// Through the engine's shard actors: --ep spreads the experts over its own ranks.
TEST(GenerateCli, ExpertParallelRanksMatchTheGolden) {
  for (const std::string flags : {"--tp 1 --ep 2", "--tp 2 --ep 2", "--tp 2 --ep 4"}) {
    const std::string name = "qwen2_moe";
    const auto golden = read_json_file(fixture_models_dir() / name / "golden.json");
    const auto& c = golden.at("cases").at(0);
    const auto r = run_tessera("generate " + model_flag(name) + " --device cpu " + flags +
                               " --prompt-ids " + ids_flag(c.at("prompt_ids")) +
                               " --max-tokens " +
                               std::to_string(c.at("max_new_tokens").get<int>()) +
                               " --temperature 0 --json");
    ASSERT_EQ(r.exit_code, 0) << flags << "\n" << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).at("token_ids"), c.at("generated_ids")) << flags;
    EXPECT_NE(r.err.find("ep "), std::string::npos) << r.err;  // the layout line says so
  }
}

TEST(GenerateCli, ExpertParallelismThatCannotPlaceTheExpertsIsNamed) {
  expect_clean_failure("generate " + model_flag("qwen3_moe") + " --device cpu --ep 3 --prompt-ids 1",
                       "8 experts (num_experts) cannot be placed evenly over 3");
  expect_clean_failure("generate " + model_flag("llama2") + " --device cpu --ep 2 --prompt-ids 1",
                       "has no experts");
  expect_clean_failure("generate " + model_flag("qwen3_moe") + " --device cpu --tp 2 --ep 3 "
                       "--prompt-ids 1", "must both divide");
  expect_clean_failure("generate " + model_flag("qwen3_moe") + " --ep 0 --prompt-ids 1", "--ep");
}

TEST(GenerateCli, BadFlagsAreNamed) {
  const std::string model = model_flag("llama2");
  expect_clean_failure("generate " + model + " --prompt-ids 1,x,3", "--prompt-ids");
  expect_clean_failure("generate " + model + " --prompt-ids 1,,3", "--prompt-ids");
  expect_clean_failure("generate " + model + " --prompt-ids 1,99999", "99999");
  expect_clean_failure("generate " + model + " --prompt-ids 1,-4", "--prompt-ids");
  expect_clean_failure("generate " + model + " --prompt-ids 1 --max-tokens 0", "--max-tokens");
  expect_clean_failure("generate --model /nonexistent/model --prompt-ids 1", "/nonexistent/model");
}

// A copy of a fixture folder to damage, private to the running test (ctest runs tests in
// parallel processes).
std::filesystem::path scratch_copy(const std::string& name) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tessera-damaged-" + name + "-" + test->name() + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(fixture_models_dir() / name, dir);
  return dir;
}

TEST(GenerateCli, TruncatedCheckpointIsAnErrorNotACrash) {
  const auto dir = scratch_copy("llama2");
  const auto file = dir / "model.safetensors";
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  expect_clean_failure("generate --model '" + dir.string() + "' --prompt-ids 1,2,3",
                       "model.safetensors");
  std::filesystem::remove_all(dir);
}

TEST(GenerateCli, MissingShardIsNamed) {
  const auto dir = scratch_copy("mistral_sliding");
  std::string removed;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto file = entry.path().filename().string();
    if (file.starts_with("model-") && file.ends_with(".safetensors")) removed = file;
  }
  ASSERT_FALSE(removed.empty()) << "mistral_sliding should be a sharded checkpoint";
  std::filesystem::remove(dir / removed);
  expect_clean_failure("generate --model '" + dir.string() + "' --prompt-ids 1,2,3", removed);
  std::filesystem::remove_all(dir);
}

TEST(GenerateCli, MalformedConfigIsNamed) {
  const auto dir = scratch_copy("llama2");
  std::ofstream(dir / "config.json") << "{\"architectures\": [\"LlamaForCausalLM\"], ";
  expect_clean_failure("generate --model '" + dir.string() + "' --prompt-ids 1,2,3",
                       "config.json");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tessera::testing
