// Known facts about the reference tokenizers that hold without the golden files, plus the
// tokenizer_config.json accessors and the streaming detokenizer's incremental behaviour.
#include <gtest/gtest.h>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/streaming_detokenizer.hpp"
#include "tests/runtime/tokenizer/tokenizer_test_support.hpp"
#include "tests/support/scratch_dir.hpp"

namespace tessera::runtime::test {
namespace {

using Ids = std::vector<std::int32_t>;

TEST(Tokenizer, Llama3KnownIds) {
  const auto& tok = reference_tokenizer("llama3");
  EXPECT_EQ(tok.encode("Hello world", false), (Ids{9906, 1917}));
  // Llama 3's tokenizer.json has only a ByteLevel post-processor: no BOS is added.
  EXPECT_EQ(tok.encode("Hello world", true), (Ids{9906, 1917}));
  EXPECT_EQ(tok.encode("<|begin_of_text|>Hello world", false), (Ids{128000, 9906, 1917}));
  EXPECT_EQ(tok.vocab_size(), 128256);
  EXPECT_TRUE(tok.is_special(128000));
  EXPECT_FALSE(tok.is_special(9906));
  EXPECT_EQ(tok.token_to_id("<|eot_id|>"), 128009);
  EXPECT_EQ(tok.bos_token(), "<|begin_of_text|>");
  EXPECT_EQ(tok.eos_token(), "<|end_of_text|>");
  EXPECT_FALSE(tok.chat_template().empty());
}

TEST(Tokenizer, Llama31AddsBeginOfText) {
  const auto& tok = reference_tokenizer("llama3_1");
  EXPECT_EQ(tok.encode("Hello world", true), (Ids{128000, 9906, 1917}));
  EXPECT_EQ(tok.decode(Ids{128000, 9906, 1917}, false), "<|begin_of_text|>Hello world");
  EXPECT_EQ(tok.decode(Ids{128000, 9906, 1917}, true), "Hello world");
  EXPECT_EQ(tok.eos_token(), "<|eot_id|>");
}

TEST(Tokenizer, Llama2SentencePieceStyle) {
  const auto& tok = reference_tokenizer("llama2");
  const auto ids = tok.encode("Hello world", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tok.decode(ids, true), "Hello world");
  // An emoji is not in the vocabulary: it falls back to its four bytes.
  const auto emoji = tok.encode("😀", false);
  EXPECT_EQ(tok.decode(emoji, false), "😀");
  EXPECT_EQ(tok.bos_token(), "<s>");
  EXPECT_EQ(tok.chat_template(), "");
}

TEST(Tokenizer, Qwen3NormalizesToNfc) {
  const auto& tok = reference_tokenizer("qwen3");
  EXPECT_EQ(tok.encode("cafe\u0301", false), tok.encode("café", false));
  EXPECT_EQ(tok.encode("<|im_start|>user", false).front(), 151644);
  EXPECT_EQ(tok.eos_token(), "<|im_end|>");
  EXPECT_EQ(tok.bos_token(), "");
}

TEST(Tokenizer, EmptyInput) {
  for (const char* name : {"llama3", "llama2", "qwen3"}) {
    const auto& tok = reference_tokenizer(name);
    EXPECT_TRUE(tok.encode("", false).empty()) << name;
    EXPECT_EQ(tok.decode(Ids{}, false), "") << name;
  }
}

TEST(StreamingDetokenizer, HoldsBackPartialCharacters) {
  for (const char* name : {"llama3", "qwen3", "llama2"}) {
    const auto& tok = reference_tokenizer(name);
    const std::string text = "a👨‍👩‍👧 b 日本";
    const auto ids = tok.encode(text, false);
    StreamingDetokenizer stream(tok, true);
    std::string all;
    for (auto id : ids) {
      const std::string piece = stream.push(id);
      // Every emitted piece is complete UTF-8 on its own.
      EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << name;
      all += piece;
    }
    all += stream.finish();
    EXPECT_EQ(all, text) << name;
  }
}

TEST(StreamingDetokenizer, UnfinishedCharacterBecomesReplacementAtFinish) {
  const auto& tok = reference_tokenizer("llama3");
  auto ids = tok.encode("😀", false);
  ASSERT_GE(ids.size(), 2u);
  ids.pop_back();
  StreamingDetokenizer stream(tok, false);
  std::string all;
  for (auto id : ids) all += stream.push(id);
  EXPECT_EQ(all, "");
  all += stream.finish();
  EXPECT_EQ(all, tok.decode(ids, false));
  EXPECT_EQ(all, "\xEF\xBF\xBD");
}

TEST(TokenizerConfig, ChatTemplateListAndObjects) {
  const ::tessera::test::ScratchDir scratch;
  const auto& dir = scratch.path();
  std::filesystem::copy_file(reference_dir("llama2") / "tokenizer.json", dir / "tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream(dir / "tokenizer_config.json") << R"({
      "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
      "chat_template": [{"name": "tool_use", "template": "T"},
                        {"name": "default", "template": "D"}]})";
  }
  auto tok = Tokenizer::load(dir);
  EXPECT_EQ(tok.bos_token(), "<s>");
  EXPECT_EQ(tok.eos_token(), "</s>");
  EXPECT_EQ(tok.chat_template(), "D");
  { std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": 7})"; }
  try {
    Tokenizer::load(dir);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::config);
    EXPECT_NE(std::string(e.what()).find("bos_token"), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir / "tokenizer_config.json");
  tok = Tokenizer::load(dir);  // the config file is optional
  EXPECT_EQ(tok.bos_token(), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tessera::runtime::test
