// `tessera tokenize` / `tessera detokenize` end to end through the built binary.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "tests/runtime/tokenizer/tokenizer_test_support.hpp"

namespace tessera::runtime::test {
namespace {

struct RunResult {
  int status;
  std::string out;
  std::string err;
};

RunResult run_cli(const std::string& args, const std::string& input) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto tag = std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                   std::to_string(reinterpret_cast<std::uintptr_t>(&input));
  const auto in = dir / ("tessera-cli-in-" + tag);
  const auto out = dir / ("tessera-cli-out-" + tag);
  const auto err = dir / ("tessera-cli-err-" + tag);
  { std::ofstream(in, std::ios::binary) << input; }
  const std::string cmd = std::string("'") + TESSERA_BINARY + "' " + args + " < '" + in.string() +
                          "' > '" + out.string() + "' 2> '" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  RunResult r{status, read_file(out), read_file(err)};
  std::filesystem::remove(in);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

TEST(TokenizeCli, TokenizeLines) {
  const std::string model = reference_dir("llama3_1").string();
  auto r = run_cli("tokenize --model '" + model + "'", "Hello world\n\nx\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[9906,1917]\n[]\n[87]\n");
  r = run_cli("tokenize --model '" + model + "' --add-special-tokens", "Hello world\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[128000,9906,1917]\n");
}

TEST(TokenizeCli, DetokenizeLines) {
  const std::string model = reference_dir("llama3_1").string();
  auto r = run_cli("detokenize --model '" + model + "'", "[128000,9906,1917]\n[]\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "\"<|begin_of_text|>Hello world\"\n\"\"\n");
  r = run_cli("detokenize --model '" + model + "' --skip-special-tokens", "[128000,9906,1917]\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "\"Hello world\"\n");
}

TEST(TokenizeCli, RoundTripThroughBothCommands) {
  const std::string model = reference_dir("qwen3").string();
  const std::string text = "日本語 😀 \"quoted\" \\ tab\there";
  auto r = run_cli("tokenize --model '" + model + "'", text + "\n");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("detokenize --model '" + model + "'", r.out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).get<std::string>(), text);
}

TEST(TokenizeCli, BadLinesNameTheLineNumber) {
  const std::string model = reference_dir("llama3").string();
  auto r = run_cli("detokenize --model '" + model + "'", "[1,2]\n[1,\"x\"]\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  r = run_cli("detokenize --model '" + model + "'", "[1]\n[2]\nnot json\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  r = run_cli("detokenize --model '" + model + "'", "[999999999]\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("999999999"), std::string::npos) << r.err;
  r = run_cli("tokenize --model '" + model + "'", "fine\nbad \xFF byte\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offset 4"), std::string::npos) << r.err;
  r = run_cli("tokenize --model /nonexistent-model-dir", "x\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("/nonexistent-model-dir"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tessera::runtime::test
