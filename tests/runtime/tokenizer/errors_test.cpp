// Bad input must give a tessera::Error with the tokenizer category and a message that says
// where the problem is; nothing may crash.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/streaming_detokenizer.hpp"
#include "tests/runtime/tokenizer/tokenizer_test_support.hpp"
#include "tests/support/tiny_tokenizer.hpp"

namespace tessera::runtime::test {
namespace {

void expect_error(const std::function<void()>& action, ErrorCategory category,
                  const std::vector<std::string>& fragments) {
  try {
    action();
    ADD_FAILURE() << "expected tessera::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), category) << e.what();
    for (const auto& f : fragments) {
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
          << "message \"" << e.what() << "\" lacks \"" << f << "\"";
    }
  }
}

nlohmann::json tiny_tokenizer() { return ::tessera::test::tiny_tokenizer_json(); }

Tokenizer from(const nlohmann::json& j) { return Tokenizer::from_json_text(j.dump(), "tiny.json"); }

TEST(TokenizerErrors, TinyTokenizerWorks) {
  const auto tok = from(tiny_tokenizer());
  EXPECT_EQ(tok.encode("ab c<s>", false), (std::vector<std::int32_t>{2, 3, 4, 5}));
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{2, 3, 4, 5}, false), "ab c<s>");
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{2, 3, 4, 5}, true), "ab c");
  EXPECT_EQ(tok.vocab_size(), 6);
  EXPECT_TRUE(tok.is_special(5));
  EXPECT_FALSE(tok.is_special(2));
  EXPECT_EQ(tok.token_to_id("<s>"), 5);
  EXPECT_EQ(tok.token_to_id("zzz"), std::nullopt);
}

TEST(TokenizerErrors, MergesAsPairs) {
  auto j = tiny_tokenizer();
  j["model"]["merges"] = nlohmann::json::parse(R"([["a", "b"]])");
  EXPECT_EQ(from(j).encode("ab", false), (std::vector<std::int32_t>{2}));
}

TEST(TokenizerErrors, InvalidUtf8NamesByteOffset) {
  const auto& tok = reference_tokenizer("llama3");
  expect_error([&] { tok.encode("abc\xFF" "def", false); }, ErrorCategory::tokenizer,
               {"UTF-8", "offset 3"});
  expect_error([&] { tok.encode("ok \xE2\x82", true); }, ErrorCategory::tokenizer,
               {"offset 3"});
  expect_error([&] { tok.encode("\xC0\x80", false); }, ErrorCategory::tokenizer, {"offset 0"});
  expect_error([&] { tok.encode("x\xED\xA0\x80", false); }, ErrorCategory::tokenizer,
               {"offset 1"});  // an encoded surrogate
}

TEST(TokenizerErrors, UnknownIdNamesTheId) {
  for (const char* name : {"llama3", "llama2", "qwen3"}) {
    const auto& tok = reference_tokenizer(name);
    const std::vector<std::int32_t> ids{1, 999999999};
    expect_error([&] { tok.decode(ids, false); }, ErrorCategory::tokenizer, {"999999999"});
    const std::vector<std::int32_t> negative{-7};
    expect_error([&] { tok.decode(negative, true); }, ErrorCategory::tokenizer, {"-7"});
    StreamingDetokenizer stream(tok, false);
    expect_error([&] { stream.push(123456789); }, ErrorCategory::tokenizer, {"123456789"});
  }
}

TEST(TokenizerErrors, TruncatedFile) {
  const std::string text = tiny_tokenizer().dump();
  expect_error([&] { Tokenizer::from_json_text(text.substr(0, text.size() / 2), "cut.json"); },
               ErrorCategory::tokenizer, {"cut.json", "not valid JSON"});
  expect_error([&] { Tokenizer::from_json_text("", "empty.json"); }, ErrorCategory::tokenizer,
               {"empty.json"});
  expect_error([&] { Tokenizer::from_json_text("[1,2]", "array.json"); },
               ErrorCategory::tokenizer, {"array.json"});
}

TEST(TokenizerErrors, MissingModel) {
  auto j = tiny_tokenizer();
  j.erase("model");
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"tiny.json", "model", "missing"});
}

TEST(TokenizerErrors, UnknownModelType) {
  auto j = tiny_tokenizer();
  j["model"]["type"] = "WordPiece";
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"model.type = \"WordPiece\""});
}

TEST(TokenizerErrors, UnknownComponentTypesNameTheJsonPath) {
  auto j = tiny_tokenizer();
  j["pre_tokenizer"]["pretokenizers"][1]["type"] = "Foo";
  expect_error([&] { from(j); }, ErrorCategory::tokenizer,
               {"pre_tokenizer.pretokenizers[1].type = \"Foo\""});
  j = tiny_tokenizer();
  j["normalizer"] =
      nlohmann::json::parse(R"({"type": "Sequence", "normalizers": [{"type": "Bar"}]})");
  expect_error([&] { from(j); }, ErrorCategory::tokenizer,
               {"normalizer.normalizers[0].type = \"Bar\""});
  j = tiny_tokenizer();
  j["decoder"] = nlohmann::json::parse(
      R"({"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Baz"}]})");
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"decoder.decoders[1].type = \"Baz\""});
  j = tiny_tokenizer();
  j["post_processor"] = nlohmann::json::parse(R"({"type": "Qux"})");
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"post_processor.type = \"Qux\""});
}

TEST(TokenizerErrors, BrokenFieldsNameTheirPath) {
  auto j = tiny_tokenizer();
  j["model"]["merges"] = nlohmann::json::parse(R"(["a b", "a z"])");
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"model.merges[1]", "\"z\""});
  j = tiny_tokenizer();
  j["model"]["merges"] = nlohmann::json::parse(R"(["a b c"])");
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"model.merges[0]"});
  j = tiny_tokenizer();
  j["model"]["vocab"]["x"] = "seven";
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"model.vocab[\"x\"]"});
  j = tiny_tokenizer();
  j["added_tokens"][0].erase("id");
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"added_tokens[0].id"});
  j = tiny_tokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  expect_error([&] { from(j); }, ErrorCategory::tokenizer,
               {"pre_tokenizer.pretokenizers[0].pattern.Regex", "regex"});
  j = tiny_tokenizer();
  j["model"]["unk_token"] = "<nope>";
  expect_error([&] { from(j); }, ErrorCategory::tokenizer, {"model.unk_token"});
}

TEST(TokenizerErrors, MissingFolderIsAnIoError) {
  expect_error([] { Tokenizer::load("/nonexistent/tessera-model"); }, ErrorCategory::io,
               {"/nonexistent/tessera-model/tokenizer.json"});
}

TEST(TokenizerErrors, RandomBytesNeverCrash) {
  // Garbage in: either a clean tokenizer error or valid ids, never a crash.
  const auto& tok = reference_tokenizer("qwen3");
  std::mt19937 rng(1234);
  for (int round = 0; round < 300; ++round) {
    std::string s(static_cast<std::size_t>(rng() % 40), '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 256);
    try {
      const auto ids = tok.encode(s, true);
      const std::string back = tok.decode(ids, false);
      bool ascii = true;
      for (unsigned char c : s) ascii = ascii && c < 0x80;
      if (ascii) {
        EXPECT_EQ(back, s);  // NFC may legitimately change non-ASCII text
      }
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::tokenizer);
    }
  }
}

}  // namespace
}  // namespace tessera::runtime::test
