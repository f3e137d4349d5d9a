// Exact agreement with HF `tokenizers` on every corpus string and decode case
// (tests/data/tokenizer/golden, written by tools/make_tokenizer_golden.py).
#include <gtest/gtest.h>

#include <vector>

#include "runtime/tokenizer/streaming_detokenizer.hpp"
#include "tests/runtime/tokenizer/tokenizer_test_support.hpp"

namespace tessera::runtime::test {
namespace {

using Ids = std::vector<std::int32_t>;

class Golden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto path = golden_path(GetParam());
    // A missing golden file is a failure, not a skip: run tools/make_tokenizer_golden.py.
    ASSERT_TRUE(std::filesystem::exists(path))
        << path << " is missing; generate it with tools/make_tokenizer_golden.py";
    golden_ = read_json(path);
    ASSERT_EQ(golden_.at("tokenizer"), GetParam());
    ASSERT_FALSE(golden_.at("cases").empty());
  }
  nlohmann::json golden_;
};

std::string stream_decode(const Tokenizer& tok, const Ids& ids, bool skip) {
  StreamingDetokenizer stream(tok, skip);
  std::string out;
  for (auto id : ids) out += stream.push(id);
  out += stream.finish();
  return out;
}

TEST_P(Golden, EncodeMatchesHf) {
  const auto& tok = reference_tokenizer(GetParam());
  int failures = 0;
  for (const auto& c : golden_["cases"]) {
    const std::string text = c["text"];
    const Ids special = c["ids_special"].get<Ids>();
    const Ids plain = c["ids_plain"].get<Ids>();
    EXPECT_EQ(tok.encode(text, true), special) << "text: " << printable(text);
    EXPECT_EQ(tok.encode(text, false), plain) << "text: " << printable(text);
    if (tok.encode(text, false) != plain && ++failures > 20) FAIL() << "too many failures";
  }
}

TEST_P(Golden, DecodeMatchesHf) {
  const auto& tok = reference_tokenizer(GetParam());
  for (const auto& c : golden_["cases"]) {
    const Ids ids = c["ids_special"].get<Ids>();
    EXPECT_EQ(tok.decode(ids, true), c["decoded_skip"].get<std::string>())
        << "text: " << printable(c["text"]);
    EXPECT_EQ(tok.decode(ids, false), c["decoded_keep"].get<std::string>())
        << "text: " << printable(c["text"]);
  }
  for (const auto& c : golden_["decode_cases"]) {
    const Ids ids = c["ids"].get<Ids>();
    const bool skip = c["skip_special_tokens"];
    EXPECT_EQ(tok.decode(ids, skip), c["text"].get<std::string>())
        << "ids: " << c["ids"].dump() << " skip: " << skip;
  }
}

TEST_P(Golden, RoundTripWhereHfRoundTrips) {
  const auto& tok = reference_tokenizer(GetParam());
  int checked = 0;
  for (const auto& c : golden_["cases"]) {
    if (!c.value("plain_round_trips", false)) continue;
    const std::string text = c["text"];
    EXPECT_EQ(tok.decode(tok.encode(text, false), false), text) << "text: " << printable(text);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST_P(Golden, StreamingEqualsOneShotDecode) {
  const auto& tok = reference_tokenizer(GetParam());
  for (bool skip : {false, true}) {
    for (const auto& c : golden_["cases"]) {
      const Ids ids = c["ids_special"].get<Ids>();
      EXPECT_EQ(stream_decode(tok, ids, skip), tok.decode(ids, skip))
          << "text: " << printable(c["text"]) << " skip: " << skip;
    }
    for (const auto& c : golden_["decode_cases"]) {
      const Ids ids = c["ids"].get<Ids>();
      EXPECT_EQ(stream_decode(tok, ids, skip), tok.decode(ids, skip)) << "ids: " << c["ids"].dump();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, Golden,
                         ::testing::Values("llama3", "llama3_1", "llama2", "qwen3", "gemma3"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace tessera::runtime::test
