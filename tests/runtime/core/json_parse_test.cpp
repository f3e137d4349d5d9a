#include "runtime/core/json_parse.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/expect_error.hpp"

namespace tessera {
namespace {

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonParse, AcceptsNestingUpToTheLimit) {
  const auto value = parse_json(nested_arrays(kMaxJsonDepth), "x", ErrorCategory::config);
  EXPECT_TRUE(value.is_array());
}

TEST(JsonParse, RefusesDeeperNestingBeforeBuildingIt) {
  for (const int depth : {kMaxJsonDepth + 1, 300000}) {
    try {
      parse_ordered_json(nested_arrays(depth), "the request body", ErrorCategory::invalid_argument);
      FAIL() << "nesting " << depth << " deep was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("the request body: JSON nests deeper than 128"),
                std::string::npos)
          << e.what();
    }
  }
}

// nlohmann's callback parser walks the parent's members after every object, n^2 for an array
// of n objects (30,000 took 26 s under ASan, found by the tokenizer_json fuzzer). 200,000 takes
// a fraction of a second when linear and many minutes when not: the test's timeout tells.
TEST(JsonParse, ManySmallObjectsParseInOnePass) {
  std::string text = "[";
  for (int i = 0; i < 200000; ++i) text += i == 0 ? "{\"a\":1}" : ",{\"a\":1}";
  text += "]";
  const auto value = parse_ordered_json(text, "x", ErrorCategory::invalid_argument);
  ASSERT_EQ(value.size(), 200000u);
  EXPECT_EQ(value[199999]["a"], 1);
}

TEST(JsonParse, NumbersThatOverflowADoubleAreAnError) {
  try {
    parse_ordered_json(R"({"temperature": 1e400})", "the request body", ErrorCategory::invalid_argument);
    FAIL() << "1e400 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the request body is not valid JSON"), std::string::npos);
  }
}

TEST(JsonParse, SyntaxErrorsNameTheInput) {
  try {
    parse_json("{\"a\":", "config.json", ErrorCategory::config);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::config);
    EXPECT_EQ(std::string(e.what()).rfind("config.json is not valid JSON", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace tessera
