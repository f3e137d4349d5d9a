// Hostile tokenizer.json files that attack loading: deep or long component chains, huge ids and
// added tokens. Each must fail fast with Error(tokenizer) naming the file, the JSON path and the
// limit; none may crash or allocate in proportion to a number written in the file.
#include <gtest/gtest.h>

#include <string>

#include "runtime/tokenizer/tokenizer.hpp"
#include "runtime/tokenizer/tokenizer_config.hpp"
#include "runtime/tokenizer/tokenizer_limits.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/tiny_tokenizer.hpp"

namespace tessera::runtime {
namespace {

using nlohmann::json;
namespace limits = tokenizer_limits;

Error load_error(const std::string& text) {
  return test::expect_error([&] { (void)Tokenizer::from_json_text(text, "hostile.json"); });
}
Error load_error(const json& j) { return load_error(j.dump()); }

// `depth` Sequences of `key`, innermost holding `leaf`, as text: building it as a json value
// would itself recurse that deep.
std::string nested_sequences(const std::string& key, int depth, const std::string& leaf) {
  std::string text;
  for (int i = 0; i < depth; ++i) text += R"({"type": "Sequence", ")" + key + R"(": [)";
  text += leaf;
  for (int i = 0; i < depth; ++i) text += "]}";
  return text;
}

std::string with_section(const std::string& section, const std::string& value) {
  json j = test::tiny_tokenizer_json();
  j.erase(section);
  std::string text = j.dump();
  text.pop_back();  // the closing brace
  return text + R"(, ")" + section + R"(": )" + value + "}";
}

// Nested 30,000 deep, each Sequence overflowed the stack (recursive builders and nlohmann's
// destructor) before parsing bounded the depth.
TEST(TokenizerHostileLoad, DeeplyNestedSequencesAreRefusedWhileParsing) {
  const std::pair<const char*, const char*> sections[] = {
      {"decoder", "decoders"},
      {"normalizer", "normalizers"},
      {"pre_tokenizer", "pretokenizers"},
      {"post_processor", "processors"}};
  for (const auto& [section, key] : sections) {
    const Error e = load_error(with_section(section, nested_sequences(key, 30'000, "")));
    test::expect_error_mentions(e, ErrorCategory::tokenizer, {"hostile.json", "nests deeper than"});
  }
}

TEST(TokenizerHostileLoad, ModestNestingStillLoads) {
  const std::string text =
      with_section("decoder", nested_sequences("decoders", 20, R"({"type": "ByteLevel"})"));
  const auto tok = Tokenizer::from_json_text(text, "nested.json");
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{2, 3, 4}, false), "ab c");
}

TEST(TokenizerHostileLoad, TooManyComponentsAreRefused) {
  json j = test::tiny_tokenizer_json();
  json steps = json::array();
  for (std::size_t i = 0; i <= limits::kMaxComponents; ++i) steps.push_back({{"type", "Lowercase"}});
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", steps}};
  test::expect_error_mentions(load_error(j), ErrorCategory::tokenizer,
                              {"hostile.json", "normalizer.normalizers[",
                               std::to_string(limits::kMaxComponents) + " components"});
}

// Before the bound, an id of 50,000,000 in a five-entry vocabulary sized a 50-million-entry table.
TEST(TokenizerHostileLoad, VocabularyIdFarPastTheEntriesIsRefused) {
  for (const long long id : {50'000'000LL, 2'147'483'646LL, 1LL << 24, 5LL + 2 * 5 + 1024}) {
    json j = test::tiny_tokenizer_json();
    j["model"]["vocab"]["c"] = id;
    test::expect_error_mentions(load_error(j), ErrorCategory::tokenizer,
                                {"hostile.json", "model.vocab[\"c\"]", std::to_string(id), "limit"});
  }
}

TEST(TokenizerHostileLoad, VocabularyWithHolesWithinTheSlackLoads) {
  json j = test::tiny_tokenizer_json();
  j["model"]["vocab"]["c"] = 5 * 2 + 1024 - 1;  // the largest id five entries allow
  const auto tok = Tokenizer::from_json_text(j.dump(), "holes.json");
  EXPECT_EQ(tok.encode("c", false), (std::vector<std::int32_t>{5 * 2 + 1024 - 1}));
}

TEST(TokenizerHostileLoad, AddedTokenIdsAreBounded) {
  json j = test::tiny_tokenizer_json();
  j["added_tokens"][0]["id"] = limits::kMaxTokenId + 1;
  test::expect_error_mentions(load_error(j), ErrorCategory::tokenizer,
                              {"hostile.json", "added_tokens[0].id", "out of range"});
}

TEST(TokenizerHostileLoad, HugeAddedTokenContentIsRefused) {
  json j = test::tiny_tokenizer_json();
  j["added_tokens"][0]["content"] = std::string(limits::kMaxAddedTokenBytes + 1, 'x');
  test::expect_error_mentions(load_error(j), ErrorCategory::tokenizer,
                              {"hostile.json", "added_tokens[0].content",
                               std::to_string(limits::kMaxAddedTokenBytes)});
}

TEST(TokenizerHostileLoad, AddedTokensInAllAreBounded) {
  json j = test::tiny_tokenizer_json();
  const std::size_t count = limits::kMaxAddedTokensTotalBytes / 1000 + 1;
  for (std::size_t i = 0; i < count; ++i) {
    j["added_tokens"].push_back({{"id", 10 + i},
                                 {"content", std::to_string(i) + std::string(1000, 'y')},
                                 {"special", true}});
  }
  test::expect_error_mentions(load_error(j), ErrorCategory::tokenizer,
                              {"hostile.json", "added_tokens[",
                               std::to_string(limits::kMaxAddedTokensTotalBytes) + " bytes in all"});
}

// A template repeating the input, in a Sequence of such templates, doubled it per step.
TEST(TokenizerHostileLoad, TemplateRepeatingTheSequenceIsRefused) {
  json j = test::tiny_tokenizer_json();
  j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
      "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {}})");
  test::expect_error_mentions(load_error(j), ErrorCategory::tokenizer,
                              {"hostile.json", "post_processor.single[1]", "only once"});
}

TEST(TokenizerHostileLoad, PostProcessorIdsAreBounded) {
  json j = test::tiny_tokenizer_json();
  j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [2000000000], "tokens": ["<s>"]}}})");
  test::expect_error_mentions(load_error(j), ErrorCategory::tokenizer,
                              {"hostile.json", "ids[0]", std::to_string(limits::kMaxTokenId)});
}

TEST(TokenizerHostileLoad, NumberOverflowingADouble) {
  json j = test::tiny_tokenizer_json();
  std::string text = j.dump();
  text.pop_back();
  test::expect_error_mentions(load_error(text + R"(, "truncation": 1e400})"),
                              ErrorCategory::tokenizer, {"hostile.json", "not valid JSON"});
}

TEST(TokenizerHostileLoad, HugeFilesAreRefusedUnread) {
  test::ScratchDir dir;
  dir.write("tokenizer.json", test::tiny_tokenizer_json().dump());
  std::filesystem::resize_file(dir / "tokenizer.json", limits::kMaxTokenizerFileBytes + 1);  // sparse
  test::expect_error_mentions(test::expect_error([&] { (void)Tokenizer::load(dir.path()); }),
                              ErrorCategory::tokenizer,
                              {(dir / "tokenizer.json").string(),
                               std::to_string(limits::kMaxTokenizerFileBytes)});
  dir.write("tokenizer.json", test::tiny_tokenizer_json().dump());
  dir.write("tokenizer_config.json", "{}");
  std::filesystem::resize_file(dir / "tokenizer_config.json", limits::kMaxTokenizerConfigBytes + 1);
  test::expect_error_mentions(test::expect_error([&] { (void)Tokenizer::load(dir.path()); }),
                              ErrorCategory::config,
                              {(dir / "tokenizer_config.json").string(),
                               std::to_string(limits::kMaxTokenizerConfigBytes)});
}

TEST(TokenizerHostileLoad, TokenizerConfigOfWrongShape) {
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {R"({"chat_template": )" + std::string(50'000, '[') + std::string(50'000, ']') + "}",
       {"nests deeper than"}},
      {R"({"model_max_length": 1e400})", {"not valid JSON"}},
      {R"({"chat_template": {"default": "x"}})", {"chat_template", "expected a string"}},
      {R"({"chat_template": [{"name": 5, "template": "x"}]})", {"chat_template[0]"}},
      {R"({"eos_token": {"content": [1]}})", {"eos_token"}},
  };
  for (const auto& [text, needles] : cases) {
    test::ScratchDir dir;
    dir.write("tokenizer_config.json", text);
    const Error e = test::expect_error([&] { (void)TokenizerConfig::load(dir / "tokenizer_config.json"); });
    auto expected = needles;
    expected.push_back((dir / "tokenizer_config.json").string());
    test::expect_error_mentions(e, ErrorCategory::config, expected);
  }
}

}  // namespace
}  // namespace tessera::runtime
