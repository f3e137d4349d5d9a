// What counts as an origin for --allowed-origins, and how an allowed one is recognised.
#include <gtest/gtest.h>

#include "net/http/cors.hpp"

namespace tessera::net {
namespace {

TEST(Cors, NormalizesOrigins) {
  EXPECT_EQ(normalize_origin("https://App.Example"), "https://app.example");
  EXPECT_EQ(normalize_origin("http://localhost:3000"), "http://localhost:3000");
  EXPECT_EQ(normalize_origin("http://[::1]:8080"), "http://[::1]:8080");
  EXPECT_EQ(normalize_origin("chrome-extension://abcdef"), "chrome-extension://abcdef");
}

TEST(Cors, RefusesWhatIsNotAnOrigin) {
  for (const char* text : {"", "app.example", "https://", "https://app.example/", "https://a.example/x",
                           "https://a.example:99999", "https://a.example:", "1http://a", "https://a b",
                           "https://user@a.example", "null"}) {
    EXPECT_FALSE(normalize_origin(text).has_value()) << text;
  }
  EXPECT_THROW(CorsPolicy({"https://ok.example", "not an origin"}), std::exception);
}

TEST(Cors, RecognisesAllowedOriginsOnly) {
  const CorsPolicy policy({"https://app.example"});
  HttpRequest request{boost::beast::http::verb::get, "/", 11};
  request.set(boost::beast::http::field::origin, "https://APP.example");
  const auto headers = policy.response_headers(request);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[1].second, "https://APP.example");  // as the browser sent it
  EXPECT_EQ(headers[2].first, "Access-Control-Expose-Headers");
  EXPECT_EQ(headers[2].second, "Retry-After, WWW-Authenticate");

  request.set(boost::beast::http::field::origin, "https://app.example.evil");
  EXPECT_EQ(policy.response_headers(request).size(), 1u);  // Vary only
}

TEST(Cors, AnyOriginWithAStar) {
  const CorsPolicy policy({"*"});
  HttpRequest request{boost::beast::http::verb::options, "/v1/models", 11};
  request.set(boost::beast::http::field::origin, "https://anywhere.example");
  request.set(boost::beast::http::field::access_control_request_method, "GET");
  const auto answer = policy.preflight(request);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 204u);
  EXPECT_EQ(answer->headers[0].second, "*");
}

TEST(Cors, OffWithoutOrigins) {
  const CorsPolicy policy;
  EXPECT_FALSE(policy.enabled());
  HttpRequest request{boost::beast::http::verb::options, "/", 11};
  request.set(boost::beast::http::field::origin, "https://app.example");
  request.set(boost::beast::http::field::access_control_request_method, "GET");
  EXPECT_FALSE(policy.preflight(request).has_value());
  EXPECT_TRUE(policy.response_headers(request).empty());
}

}  // namespace
}  // namespace tessera::net
