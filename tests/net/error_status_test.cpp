// The HTTP status of a failed request comes from its category alone, and its field becomes the
// OpenAI `param`. Expected statuses are the API's contract (docs/architecture.md, "Errors"): 400
// for the request's fault, 503 (with Retry-After) while the server cannot serve, 500 otherwise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/openai/error_status.hpp"
#include "net/openai/openai_service.hpp"
#include "tests/net/recording_responder.hpp"

namespace tessera::net {
namespace {

TEST(ErrorStatus, EveryCategoryHasItsStatus) {
  EXPECT_EQ(http_status(ErrorCategory::invalid_argument), 400u);
  EXPECT_EQ(http_status(ErrorCategory::tokenizer), 400u);
  EXPECT_EQ(http_status(ErrorCategory::chat_template), 400u);
  EXPECT_EQ(http_status(ErrorCategory::unsupported), 400u);
  EXPECT_EQ(http_status(ErrorCategory::unavailable), 503u);
  EXPECT_EQ(http_status(ErrorCategory::config), 500u);
  EXPECT_EQ(http_status(ErrorCategory::checkpoint), 500u);
  EXPECT_EQ(http_status(ErrorCategory::io), 500u);
  EXPECT_EQ(http_status(ErrorCategory::internal), 500u);
}

// The words once matched to find a shut-down engine or a lost worker mean nothing now.
TEST(ErrorStatus, TheCategoryDecidesNotTheText) {
  EXPECT_EQ(api_error({ErrorCategory::invalid_argument, {}, "the engine is shut down"}).status, 400u);
  EXPECT_EQ(api_error({ErrorCategory::internal, {}, "the cluster is unavailable: worker 0"}).status,
            500u);
  EXPECT_EQ(api_error({ErrorCategory::unavailable, {}, "prompt: looks like a field"}).status, 503u);
  EXPECT_EQ(api_error({ErrorCategory::unavailable, {}, "prompt: looks like a field"}).param, "");
}

TEST(ErrorStatus, TheFieldBecomesParam) {
  const Failure failure{ErrorCategory::invalid_argument, "prompt",
                        "prompt[1]: token id 999 is outside the vocabulary (0 to 255)"};
  const ApiError error = api_error(failure);
  EXPECT_EQ(error.status, 400u);
  EXPECT_EQ(error.param, "prompt");
  EXPECT_EQ(std::string(error.what()), failure.message);
  RecordingResponder responder;
  respond_error(responder, error);
  const auto body = nlohmann::json::parse(responder.body);
  EXPECT_EQ(body["error"]["param"], "prompt");
  EXPECT_EQ(body["error"]["message"], failure.message);
}

TEST(ErrorStatus, UnavailableAsksToRetry) {
  RecordingResponder responder;
  respond_error(responder, api_error({ErrorCategory::unavailable, {}, "the engine is shut down"}));
  EXPECT_EQ(responder.status, 503u);
  ASSERT_EQ(responder.headers.size(), 1u);
  EXPECT_EQ(responder.headers[0], (std::pair<std::string, std::string>{"Retry-After", "1"}));
}

}  // namespace
}  // namespace tessera::net
