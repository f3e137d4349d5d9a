// Hostile tokenizer.json files that attack encoding and decoding: components that expand text
// without bound and regexes that backtrack catastrophically. Each must fail the one encode or
// decode with Error(tokenizer) naming the component and the limit, fast, while real tokenizers
// keep working on long inputs.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "runtime/tokenizer/streaming_detokenizer.hpp"
#include "runtime/tokenizer/text_budget.hpp"
#include "runtime/tokenizer/tokenizer.hpp"
#include "tests/runtime/tokenizer/tokenizer_test_support.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/tiny_tokenizer.hpp"

namespace tessera::runtime {
namespace {

using nlohmann::json;
namespace tt = ::tessera::test;  // runtime::test holds the reference tokenizers

Tokenizer load(const json& j) { return Tokenizer::from_json_text(j.dump(), "hostile.json"); }

json replace_step(const std::string& pattern, const std::string& content) {
  return {{"type", "Replace"}, {"pattern", {{"String", pattern}}}, {"content", content}};
}

json doubling_replaces(int steps) {
  json list = json::array();
  for (int i = 0; i < steps; ++i) list.push_back(replace_step("a", "aa"));
  return list;
}

const std::string kLimitText = "limit of " + std::to_string(kMaxTextGrowthFactor) + " x the input";

// Before the budget, 64 doubling steps asked for 2^64 bytes from one "a".
TEST(TokenizerHostileEncode, NormalizerReplacesDoublingTheText) {
  json j = tt::tiny_tokenizer_json();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", doubling_replaces(64)}};
  const auto tok = load(j);
  tt::expect_error_mentions(tt::expect_error([&] { (void)tok.encode("a", false); }),
                              ErrorCategory::tokenizer, {"normalizer Replace", kLimitText});
  // A few doublings are within the allowance and encode as usual.
  j["normalizer"]["normalizers"] = doubling_replaces(3);
  EXPECT_EQ(load(j).encode("a", false), std::vector<std::int32_t>(8, 0));
}

TEST(TokenizerHostileEncode, ReplaceWithHugeContent) {
  json j = tt::tiny_tokenizer_json();
  j["normalizer"] = replace_step("a", std::string(1 << 20, 'b'));
  const auto tok = load(j);
  tt::expect_error_mentions(tt::expect_error([&] { (void)tok.encode("aaaa", false); }),
                              ErrorCategory::tokenizer, {"normalizer Replace", kLimitText});
}

TEST(TokenizerHostileEncode, HugePrependOnEveryPiece) {
  json j = tt::tiny_tokenizer_json();
  j["normalizer"] = {{"type", "Prepend"}, {"prepend", std::string(1 << 20, 'b')}};
  const auto tok = load(j);
  // Splitting at the added token <s> must not give each piece its own allowance.
  tt::expect_error_mentions(tt::expect_error([&] { (void)tok.encode("a<s>a<s>a", false); }),
                              ErrorCategory::tokenizer, {"normalizer Prepend", kLimitText});
}

// Each ByteLevel maps a non-ASCII byte to two bytes: 64 of them stacked doubled a space 64 times.
TEST(TokenizerHostileEncode, StackedByteLevelPreTokenizers) {
  json j = tt::tiny_tokenizer_json();
  json steps = json::array();
  for (int i = 0; i < 64; ++i) {
    steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}});
  }
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", steps}};
  const auto tok = load(j);
  tt::expect_error_mentions(tt::expect_error([&] { (void)tok.encode(" ", false); }),
                              ErrorCategory::tokenizer, {"pre_tokenizer ByteLevel", kLimitText});
}

TEST(TokenizerHostileEncode, DecoderReplacesDoublingTheText) {
  json j = tt::tiny_tokenizer_json();
  j["decoder"] = {{"type", "Sequence"}, {"decoders", doubling_replaces(64)}};
  const auto tok = load(j);
  const std::vector<std::int32_t> ids{0};
  tt::expect_error_mentions(tt::expect_error([&] { (void)tok.decode(ids, false); }),
                              ErrorCategory::tokenizer, {"decoder Replace", kLimitText});
  StreamingDetokenizer stream(tok, false);
  tt::expect_error_mentions(tt::expect_error([&] { (void)stream.push(0); }),
                              ErrorCategory::tokenizer, {"decoder", kLimitText});
}

TEST(TokenizerHostileEncode, DecoderReplaceWithHugeContent) {
  json j = tt::tiny_tokenizer_json();
  j["decoder"] = replace_step("a", std::string(1 << 20, 'b'));
  const auto tok = load(j);
  const std::vector<std::int32_t> ids(16, 0);
  tt::expect_error_mentions(tt::expect_error([&] { (void)tok.decode(ids, false); }),
                              ErrorCategory::tokenizer, {"decoder Replace", kLimitText});
}

// (a|aa)+$ backtracks exponentially on a run of a's that does not end the text; before PCRE2's
// limits were set this ran for minutes.
TEST(TokenizerHostileEncode, CatastrophicSplitRegexHitsTheMatchLimit) {
  json j = tt::tiny_tokenizer_json();
  j["pre_tokenizer"] = json::parse(
      R"({"type": "Split", "pattern": {"Regex": "(a|aa)+$"}, "behavior": "Isolated", "invert": false})");
  const auto tok = load(j);
  const auto start = std::chrono::steady_clock::now();
  tt::expect_error_mentions(
      tt::expect_error([&] { (void)tok.encode(std::string(64, 'a') + "!", false); }),
      ErrorCategory::tokenizer, {"hostile.json", "pre_tokenizer.pattern.Regex", "limit"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// Real pipelines stay far inside the budget on long and awkward text.
TEST(TokenizerHostileEncode, ReferenceTokenizersEncodeLongTextWithinTheBudget) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "  \xEF\xB7\xBA \xE2\x84\x8C x\n";  // U+FDFA, U+210C
  for (const char* name : {"llama2", "llama3", "qwen3", "gemma3"}) {
    const auto& tok = test::reference_tokenizer(name);
    EXPECT_EQ(tok.decode(tok.encode(text, false), false), text) << name;
  }
}

}  // namespace
}  // namespace tessera::runtime
