// Reading the bodies of /tokenize and /detokenize: the two shapes of /tokenize, vLLM's defaults
// for add_special_tokens, and a 400 naming the field for every bad value.
#include <gtest/gtest.h>

#include "net/openai/api_error.hpp"
#include "net/openai/tokenize_request.hpp"

namespace tessera::net {
namespace {

using Json = nlohmann::ordered_json;

template <class Read>
ApiError error_of(Read read, const Json& body) {
  try {
    read(body.dump());
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "no error");
}

void expect_bad_tokenize(const Json& body, const std::string& field) {
  const auto e = error_of(read_tokenize_request, body);
  EXPECT_EQ(e.status, 400u) << body.dump();
  EXPECT_EQ(e.param, field) << body.dump() << " -> " << e.what();
  EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
}

void expect_bad_detokenize(const Json& body, const std::string& field) {
  const auto e = error_of(read_detokenize_request, body);
  EXPECT_EQ(e.status, 400u) << body.dump();
  EXPECT_EQ(e.param, field) << body.dump() << " -> " << e.what();
  EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
}

const Json kMessages = Json::array({{{"role", "user"}, {"content", "hi"}}});

TEST(TokenizeRequest, ATextPromptAddsSpecialTokensByDefault) {
  const auto r = read_tokenize_request(R"({"model": "m", "prompt": "In the beginning"})");
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt, "In the beginning");
  EXPECT_TRUE(r.add_special_tokens);
  EXPECT_FALSE(read_tokenize_request(R"({"prompt": "x", "add_special_tokens": false})").add_special_tokens);
}

TEST(TokenizeRequest, MessagesAreAChatWithoutAddedSpecialTokensByDefault) {
  const auto r = read_tokenize_request(
      Json{{"messages", kMessages}, {"add_generation_prompt", false},
           {"chat_template_kwargs", {{"enable_thinking", false}}}}.dump());
  EXPECT_TRUE(r.chat);
  EXPECT_TRUE(r.model.empty());
  EXPECT_EQ(r.messages, kMessages);
  EXPECT_FALSE(r.add_generation_prompt);
  EXPECT_EQ(r.template_kwargs, Json({{"enable_thinking", false}}));
  EXPECT_FALSE(r.add_special_tokens);
  EXPECT_TRUE(read_tokenize_request(Json{{"messages", kMessages}}.dump()).add_generation_prompt);
}

TEST(TokenizeRequest, BadFieldsAreNamed) {
  expect_bad_tokenize(Json::object(), "prompt");
  expect_bad_tokenize({{"prompt", 5}}, "prompt");
  expect_bad_tokenize({{"prompt", Json::array({1, 2})}}, "prompt");
  expect_bad_tokenize({{"prompt", "x"}, {"messages", kMessages}}, "prompt");
  expect_bad_tokenize({{"prompt", "x"}, {"model", 1}}, "model");
  expect_bad_tokenize({{"prompt", "x"}, {"add_special_tokens", "yes"}}, "add_special_tokens");
  expect_bad_tokenize({{"prompt", "x"}, {"add_generation_prompt", true}}, "add_generation_prompt");
  expect_bad_tokenize({{"prompt", "x"}, {"chat_template_kwargs", Json::object()}}, "chat_template_kwargs");
  expect_bad_tokenize({{"messages", "hi"}}, "messages");
  expect_bad_tokenize({{"messages", Json::array({{{"role", "wizard"}, {"content", "x"}}})}}, "messages[0].role");
  expect_bad_tokenize({{"messages", kMessages}, {"add_generation_prompt", 1}}, "add_generation_prompt");
  expect_bad_tokenize({{"messages", kMessages}, {"chat_template_kwargs", 3}}, "chat_template_kwargs");
  expect_bad_tokenize({{"messages", kMessages}, {"chat_template_kwargs", {{"messages", Json::array()}}}},
                      "chat_template_kwargs.messages");
  // vLLM's fields that tessera does not act on are refused, not ignored.
  expect_bad_tokenize({{"prompt", "x"}, {"return_token_strs", true}}, "return_token_strs");
  expect_bad_tokenize({{"messages", kMessages}, {"tools", Json::array()}}, "tools");
  expect_bad_tokenize({{"messages", kMessages}, {"chat_template", "{{ 1 }}"}}, "chat_template");
  expect_bad_tokenize({{"messages", kMessages}, {"continue_final_message", true}},
                      "continue_final_message");
  EXPECT_EQ(error_of(read_tokenize_request, Json::array({1})).status, 400u);
  EXPECT_EQ(error_of(read_tokenize_request, "a string").status, 400u);
  try {
    read_tokenize_request("{\"prompt\":");
    ADD_FAILURE() << "a truncated body was read";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400u);
    EXPECT_NE(std::string(e.what()).find("request body"), std::string::npos) << e.what();
  }
}

TEST(DetokenizeRequest, ReadsTokens) {
  const auto r = read_detokenize_request(R"({"model": "m", "tokens": [1, 0, 42]})");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.tokens, (std::vector<std::int32_t>{1, 0, 42}));
  EXPECT_TRUE(read_detokenize_request(R"({"tokens": []})").tokens.empty());
}

TEST(DetokenizeRequest, BadFieldsAreNamed) {
  expect_bad_detokenize(Json::object(), "tokens");
  expect_bad_detokenize({{"tokens", nullptr}}, "tokens");
  expect_bad_detokenize({{"tokens", "1 2"}}, "tokens");
  expect_bad_detokenize({{"tokens", Json::array({1, -1})}}, "tokens");
  expect_bad_detokenize({{"tokens", Json::array({1, 1.5})}}, "tokens");
  expect_bad_detokenize({{"tokens", Json::array({Json(std::uint64_t{1} << 33)})}}, "tokens");
  expect_bad_detokenize({{"tokens", Json::array({1})}, {"model", false}}, "model");
}

TEST(TokenizeResponse, HasVllmsShape) {
  EXPECT_EQ(tokenize_response_json({5, 6}, 512).dump(), R"({"count":2,"max_model_len":512,"tokens":[5,6]})");
}

}  // namespace
}  // namespace tessera::net
