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
