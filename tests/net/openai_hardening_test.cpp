// The pieces of the OpenAI service that hold it up against hostile clients: the constant-time
// API key check, the bounded prompt workers, the headers of error answers, and the lower bound on
// a prompt's token count that refuses what cannot fit before tokenizing it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "net/openai/api_key.hpp"
#include "net/openai/openai_service.hpp"
#include "net/openai/prompt_bound.hpp"
#include "net/openai/prompt_workers.hpp"
#include "runtime/tokenizer/byte_level_alphabet.hpp"
#include "tests/net/recording_responder.hpp"

namespace tessera::net {
namespace {

TEST(ApiKey, AcceptsOnlyTheKeyAsABearerToken) {
  const ApiKey key("s3cret");
  EXPECT_TRUE(key.required());
  EXPECT_TRUE(key.accepts("Bearer s3cret"));
  EXPECT_TRUE(key.accepts("bearer s3cret"));
  EXPECT_FALSE(key.accepts("Bearer s3cre"));
  EXPECT_FALSE(key.accepts("Bearer s3cret2"));
  EXPECT_FALSE(key.accepts("s3cret"));
  EXPECT_FALSE(key.accepts("Basic s3cret"));
  EXPECT_FALSE(key.accepts(""));
  EXPECT_FALSE(key.accepts("Bearer "));
}

TEST(ApiKey, NoKeyNeedsNoHeader) {
  const ApiKey none("");
  EXPECT_FALSE(none.required());
  EXPECT_TRUE(none.accepts(""));
}

TEST(PromptWorkers, RefusesBeyondItsQueueAndDrainsOnStop) {
  PromptWorkers workers(1, 2);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> done{0};
  ASSERT_TRUE(workers.try_post([&, released] {
    started.set_value();
    released.wait();
    ++done;
  }));
  started.get_future().wait();  // the one worker is busy: what follows waits in the queue
  EXPECT_TRUE(workers.try_post([&] { ++done; }));
  EXPECT_TRUE(workers.try_post([&] { ++done; }));
  EXPECT_FALSE(workers.try_post([&] { ++done; })) << "a third waiting task is over the limit";
  release.set_value();
  workers.stop();
  EXPECT_EQ(done.load(), 3) << "stop() runs what was queued";
  EXPECT_FALSE(workers.try_post([] {})) << "stopped workers take nothing";
}

TEST(RespondError, StatusesCarryTheirHeaders) {
  RecordingResponder unauthorised;
  respond_error(unauthorised, ApiError(401, "no key"));
  EXPECT_EQ(unauthorised.header("WWW-Authenticate"), "Bearer");
  for (const unsigned status : {429u, 503u}) {
    RecordingResponder busy;
    respond_error(busy, ApiError(status, "later"));
    EXPECT_EQ(busy.header("Retry-After"), "1") << status;
  }
  RecordingResponder bad;
  respond_error(bad, ApiError(400, "x: bad", "x"));
  EXPECT_TRUE(bad.headers.empty());
  ApiError method(405, "use GET");
  method.headers.emplace_back("Allow", "GET, HEAD");
  RecordingResponder wrong_method;
  respond_error(wrong_method, method);
  EXPECT_EQ(wrong_method.header("Allow"), "GET, HEAD");
  EXPECT_EQ(nlohmann::json::parse(wrong_method.body)["error"]["message"], "use GET");
}

// A byte-level BPE tokenizer whose longest token is `longest` and whose normalizer is
// `normalizer`, written to a fresh folder.
std::filesystem::path byte_level_model(const std::string& name, const std::string& longest,
                                       const nlohmann::json& normalizer,
                                       bool all_bytes = true) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& alphabet = runtime::ByteLevelAlphabet::instance();
  for (int b = 0; b < (all_bytes ? 256 : 128); ++b) {
    vocab[std::string(alphabet.encode(static_cast<unsigned char>(b)))] = b;
  }
  vocab[longest] = static_cast<int>(vocab.size());
  const nlohmann::json tokenizer = {
      {"version", "1.0"},
      {"added_tokens", nlohmann::json::array()},
      {"normalizer", normalizer},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tessera_prompt_bound_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  return dir;
}

std::optional<std::int64_t> bound_of(const std::filesystem::path& dir) {
  const auto tokenizer = runtime::Tokenizer::load(dir);
  const auto bound = PromptBound::for_tokenizer(dir, tokenizer, tokenizer.vocab_size());
  std::filesystem::remove_all(dir);
  return bound.max_bytes_per_token();
}

TEST(PromptBound, LongestTokenOfAByteLevelVocabulary) {
  EXPECT_EQ(bound_of(byte_level_model("plain", "abcdefghijklmnop", nullptr)), 16);
  const PromptBound none;
  EXPECT_EQ(none.min_tokens(1 << 20), 0);
}

TEST(PromptBound, NormalizersThatShrinkTextWidenIt) {
  EXPECT_EQ(bound_of(byte_level_model("nfc", "abcdefghijklmnop", {{"type", "NFC"}})), 64);
  const nlohmann::json replace = {{"type", "Replace"}, {"pattern", {{"String", "aaaa"}}}, {"content", "a"}};
  EXPECT_EQ(bound_of(byte_level_model("replace", "abcdefghijklmnop", replace)), 64);
}

TEST(PromptBound, NoneWhereTextMayVanish) {
  EXPECT_FALSE(bound_of(byte_level_model("strip", "abc", {{"type", "Strip"}, {"strip_left", true}})));
  const nlohmann::json erase = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", ""}};
  EXPECT_FALSE(bound_of(byte_level_model("erase", "abc", erase)));
  EXPECT_FALSE(bound_of(byte_level_model("missing_bytes", "abc", nullptr, /*all_bytes=*/false)));
}

}  // namespace
}  // namespace tessera::net
