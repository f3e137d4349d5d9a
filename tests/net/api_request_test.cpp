// Reading OpenAI request bodies: defaults, accepted spellings, and a 400 naming the field for
// every kind of bad value.
#include <gtest/gtest.h>

#include "net/openai/api_error.hpp"
#include "net/openai/api_request.hpp"
#include "net/openai/unsupported_parameters.hpp"

namespace tessera::net {
namespace {

using Json = nlohmann::ordered_json;

ApiRequest chat(Json extra) {
  Json body = {{"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}};
  if (!extra.is_null()) body.update(extra);
  return parse_api_request(body, Endpoint::chat);
}

ApiRequest completion(Json extra) {
  Json body = {{"prompt", "hi"}};
  if (!extra.is_null()) body.update(extra);
  return parse_api_request(body, Endpoint::completion);
}

// The ApiError a body raises (status 0 when it raises none).
ApiError error_of(const Json& body, Endpoint endpoint) {
  try {
    parse_api_request(body, endpoint);
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "no error");
}

void expect_bad(const Json& extra, const std::string& field, Endpoint endpoint = Endpoint::chat) {
  Json body = endpoint == Endpoint::chat
                  ? Json{{"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}}
                  : Json{{"prompt", "hi"}};
  body.update(extra);
  const ApiError e = error_of(body, endpoint);
  EXPECT_EQ(e.status, 400u) << body.dump();
  EXPECT_EQ(e.param, field) << body.dump() << " -> " << e.what();
  EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
}

TEST(ApiRequest, OpenAiDefaults) {
  const auto r = chat({});
  EXPECT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.sampling.logprobs);
  EXPECT_FALSE(r.sampling.seed.has_value());
  EXPECT_TRUE(r.stop.empty());
}

TEST(ApiRequest, ReadsEveryField) {
  const auto r = chat({{"model", "m"},
                       {"max_completion_tokens", 7},
                       {"temperature", 0.5},
                       {"top_p", 0.9},
                       {"seed", 42},
                       {"stop", Json::array({"a", "b"})},
                       {"stream", true},
                       {"stream_options", {{"include_usage", true}}},
                       {"logprobs", true},
                       {"top_logprobs", 3},
                       {"frequency_penalty", 0.5},
                       {"presence_penalty", -0.5},
                       {"top_k", 40},
                       {"min_p", 0.05},
                       {"repetition_penalty", 1.1},
                       {"ignore_eos", true},
                       {"some_future_field", {{"x", 1}}}});
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_TRUE(r.sampling.logprobs);
  EXPECT_EQ(r.sampling.top_logprobs, 3);
  EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.presence_penalty, -0.5f);
  EXPECT_EQ(r.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
  EXPECT_TRUE(r.ignore_eos);
}

TEST(ApiRequest, MaxCompletionTokensWinsOverMaxTokens) {
  EXPECT_EQ(chat({{"max_tokens", 5}}).max_tokens, 5);
  EXPECT_EQ(chat({{"max_tokens", 5}, {"max_completion_tokens", 9}}).max_tokens, 9);
}

TEST(ApiRequest, NullMeansAbsent) {
  const auto r = chat({{"temperature", nullptr}, {"stop", nullptr}, {"max_tokens", nullptr}});
  EXPECT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_TRUE(r.stop.empty());
  EXPECT_FALSE(r.max_tokens.has_value());
}

TEST(ApiRequest, MessagesKeepTheirOrderAndFields) {
  const Json messages = Json::array({{{"role", "system"}, {"content", "be brief"}},
                                     {{"role", "user"}, {"content", "hi"}, {"name", "u"}},
                                     {{"role", "assistant"}, {"content", nullptr}, {"name", "a"}}});
  const auto r = parse_api_request({{"messages", messages}}, Endpoint::chat);
  EXPECT_EQ(r.messages, messages);
}

TEST(ApiRequest, TextPartsReadAsOneString) {
  const Json parts = Json::array({{{"type", "text"}, {"text", "In the"}}, {{"type", "text"}, {"text", "beginning"}}});
  const auto r = parse_api_request({{"messages", Json::array({{{"role", "user"}, {"content", parts}}})}},
                                   Endpoint::chat);
  EXPECT_EQ(r.messages[0]["content"], "In the\nbeginning");
}

TEST(ApiRequest, CompletionPromptShapes) {
  EXPECT_EQ(completion({{"prompt", "abc"}}).prompt_text, "abc");
  EXPECT_EQ(completion({{"prompt", Json::array({"abc"})}}).prompt_text, "abc");
  const auto ids = completion({{"prompt", Json::array({1, 2, 3})}});
  EXPECT_TRUE(ids.prompt_is_ids);
  EXPECT_EQ(ids.prompt_ids, (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_EQ(completion({{"prompt", Json::array({Json::array({4, 5})})}}).prompt_ids,
            (std::vector<std::int32_t>{4, 5}));
  const auto lp = completion({{"logprobs", 2}});
  EXPECT_TRUE(lp.sampling.logprobs);
  EXPECT_EQ(lp.sampling.top_logprobs, 2);
}

TEST(ApiRequest, WrongTypesNameTheField) {
  expect_bad({{"temperature", "hot"}}, "temperature");
  expect_bad({{"max_tokens", 1.5}}, "max_tokens");
  expect_bad({{"max_tokens", "10"}}, "max_tokens");
  expect_bad({{"stream", 1}}, "stream");
  expect_bad({{"stop", 5}}, "stop");
  expect_bad({{"stop", Json::array({"a", 1})}}, "stop");
  expect_bad({{"seed", "x"}}, "seed");
  expect_bad({{"model", 3}}, "model");
  expect_bad({{"logprobs", 1}}, "logprobs");
  expect_bad({{"stream_options", true}}, "stream_options");
  expect_bad({{"stream", true}, {"stream_options", {{"include_usage", "yes"}}}}, "stream_options.include_usage");
  expect_bad({{"messages", "hi"}}, "messages");
  expect_bad({{"messages", Json::array()}}, "messages");
  expect_bad({{"messages", Json::array({{{"content", "x"}}})}}, "messages[0].role");
  expect_bad({{"messages", Json::array({{{"role", "wizard"}, {"content", "x"}}})}}, "messages[0].role");
  expect_bad({{"messages", Json::array({{{"role", "user"}, {"content", 5}}})}}, "messages[0].content");
  expect_bad({{"messages", Json::array({{{"role", "user"}}})}}, "messages[0].content");
  expect_bad({{"messages", Json::array({{{"role", "system"}, {"content", nullptr}}})}}, "messages[0].content");
  expect_bad({{"messages", Json::array({{{"role", "user"}, {"content", Json::array({{{"type", "image_url"}}})}}})}},
             "messages[0].content");
  expect_bad({{"prompt", 5}}, "prompt", Endpoint::completion);
  expect_bad({{"prompt", Json::array({"a", "b"})}}, "prompt", Endpoint::completion);
  expect_bad({{"prompt", Json::array({1, -2})}}, "prompt", Endpoint::completion);
  expect_bad({{"prompt", Json::array()}}, "prompt", Endpoint::completion);
}

TEST(ApiRequest, OutOfRangeValuesNameTheField) {
  expect_bad({{"temperature", 2.5}}, "temperature");
  expect_bad({{"temperature", -0.1}}, "temperature");
  expect_bad({{"top_p", 0}}, "top_p");
  expect_bad({{"top_p", 1.5}}, "top_p");
  expect_bad({{"max_tokens", 0}}, "max_tokens");
  expect_bad({{"max_completion_tokens", -3}}, "max_completion_tokens");
  expect_bad({{"presence_penalty", 3}}, "presence_penalty");
  expect_bad({{"frequency_penalty", -2.5}}, "frequency_penalty");
  expect_bad({{"top_logprobs", 21}, {"logprobs", true}}, "top_logprobs");
  expect_bad({{"top_logprobs", 2}}, "top_logprobs");  // needs logprobs: true
  expect_bad({{"n", 2}}, "n");
  expect_bad({{"min_p", 1.5}}, "min_p");
  expect_bad({{"repetition_penalty", 0}}, "repetition_penalty");
  expect_bad({{"top_k", -2}}, "top_k");
  expect_bad({{"stop", Json::array({"a", "b", "c", "d", "e"})}}, "stop");
  expect_bad({{"stop", ""}}, "stop");
  expect_bad({{"logprobs", 6}}, "logprobs", Endpoint::completion);
  expect_bad({{"echo", true}}, "echo", Endpoint::completion);
}

TEST(ApiRequest, BodyMustBeAnObject) {
  EXPECT_EQ(error_of(Json::array({1}), Endpoint::chat).status, 400u);
  EXPECT_EQ(error_of("text", Endpoint::completion).status, 400u);
  EXPECT_EQ(error_of(Json::object(), Endpoint::chat).param, "messages");
  EXPECT_EQ(error_of(Json::object(), Endpoint::completion).param, "prompt");
}

TEST(ApiRequest, StreamOptionsNeedAStream) {
  expect_bad({{"stream_options", {{"include_usage", true}}}}, "stream_options");
  expect_bad({{"stream", false}, {"stream_options", {{"include_usage", true}}}}, "stream_options");
  EXPECT_TRUE(chat({{"stream", true}, {"stream_options", {{"include_usage", true}}}}).include_usage);
  EXPECT_FALSE(chat({{"stream_options", nullptr}}).include_usage);
}

TEST(ApiRequest, TheTokenLimitIsNamedAsSent) {
  EXPECT_EQ(chat({{"max_tokens", 5}}).max_tokens_field, "max_tokens");
  EXPECT_EQ(chat({{"max_completion_tokens", 5}}).max_tokens_field, "max_completion_tokens");
  EXPECT_EQ(completion({{"max_tokens", 5}}).max_tokens_field, "max_tokens");
  expect_bad({{"max_completion_tokens", Json(std::uint64_t{1} << 63)}}, "max_completion_tokens");
}

TEST(ApiRequest, ParametersThatWouldChangeTheAnswerAreRefusedByName) {
  const Json refused = {
      {"tools", Json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})},
      {"tool_choice", "auto"},
      {"tool_choice", {{"type", "function"}, {"function", {{"name", "f"}}}}},
      {"functions", Json::array({{{"name", "f"}}})},
      {"function_call", "auto"},
      {"response_format", {{"type", "json_object"}}},
      {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}}}}},
      {"logit_bias", {{"50256", -100}}},
      {"guided_json", {{"type", "object"}}},
      {"guided_regex", "a+"},
      {"guided_choice", Json::array({"a"})},
      {"guided_grammar", "root ::= \"a\""},
      {"guided_decoding_backend", "xgrammar"},
      {"structured_outputs", {{"regex", "a"}}},
      {"min_tokens", 3},
      {"allowed_token_ids", Json::array({1, 2})},
      {"bad_words", Json::array({"x"})},
      {"echo", true},
      {"suffix", "end"},
      {"audio", {{"voice", "alloy"}}},
      {"modalities", Json::array({"text", "audio"})},
      {"web_search_options", Json::object()},
      {"continue_final_message", true},
      {"chat_template", "{{ 1 }}"},
      {"use_beam_search", true},
      {"prompt_logprobs", 1},
      {"reasoning_effort", "high"},
  };
  for (const auto& [name, value] : refused.items()) {
    for (const auto endpoint : {Endpoint::chat, Endpoint::completion}) {
      expect_bad({{name, value}}, name, endpoint);
    }
  }
  expect_bad({{"tool_choice", Json::object()}}, "tool_choice");
}

TEST(ApiRequest, NeutralValuesOfThoseParametersPass) {
  const Json neutral = {{"tools", Json::array()},          {"tool_choice", "none"},
                        {"functions", nullptr},            {"function_call", "none"},
                        {"response_format", {{"type", "text"}}},
                        {"logit_bias", Json::object()},    {"guided_json", nullptr},
                        {"min_tokens", 0},                 {"stop_token_ids", Json::array()},
                        {"allowed_token_ids", nullptr},    {"bad_words", Json::array()},
                        {"include_stop_str_in_output", false},
                        {"modalities", Json::array({"text"})},
                        {"parallel_tool_calls", true},     {"prediction", {{"type", "content"}}},
                        {"user", "u"},                     {"store", true},
                        {"metadata", {{"k", "v"}}},        {"service_tier", "auto"},
                        {"echo", false}};
  EXPECT_NO_THROW(chat(neutral));
  EXPECT_NO_THROW(completion(neutral));
}

TEST(ApiRequest, StopOptionsAreRead) {
  for (const auto endpoint : {Endpoint::chat, Endpoint::completion}) {
    const Json body = endpoint == Endpoint::chat
                          ? Json{{"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}}
                          : Json{{"prompt", "hi"}};
    const auto plain = parse_api_request(body, endpoint);
    EXPECT_TRUE(plain.stop_token_ids.empty());
    EXPECT_FALSE(plain.include_stop_str_in_output);
    Json with = body;
    with.update({{"stop_token_ids", Json::array({5, 0, 7})}, {"include_stop_str_in_output", true}});
    const auto r = parse_api_request(with, endpoint);
    EXPECT_EQ(r.stop_token_ids, (std::vector<std::int32_t>{5, 0, 7}));
    EXPECT_TRUE(r.include_stop_str_in_output);
    expect_bad({{"stop_token_ids", 5}}, "stop_token_ids", endpoint);
    expect_bad({{"stop_token_ids", Json::array({1, -1})}}, "stop_token_ids", endpoint);
    expect_bad({{"stop_token_ids", Json::array({1, 2.5})}}, "stop_token_ids", endpoint);
    expect_bad({{"stop_token_ids", Json::array({"1"})}}, "stop_token_ids", endpoint);
    expect_bad({{"stop_token_ids", Json::array({Json(std::uint64_t{1} << 40)})}}, "stop_token_ids", endpoint);
    expect_bad({{"include_stop_str_in_output", "yes"}}, "include_stop_str_in_output", endpoint);
  }
}

TEST(ApiRequest, TemplateKwargsMayNotHideWhatTesseraSets) {
  for (const char* key : {"add_generation_prompt", "bos_token", "eos_token", "documents",
                          "raise_exception", "strftime_now", "namespace", "dict", "range"}) {
    expect_bad({{"chat_template_kwargs", {{key, 1}}}}, std::string("chat_template_kwargs.") + key);
  }
  expect_bad({{"chat_template_kwargs", Json::array({1})}}, "chat_template_kwargs");
  expect_bad({{"chat_template_kwargs", "enable_thinking"}}, "chat_template_kwargs");
  EXPECT_EQ(chat({{"chat_template_kwargs", nullptr}}).template_kwargs, Json::object());
}

TEST(ApiRequest, TemplateOptionsAreRead) {
  EXPECT_TRUE(chat({}).add_generation_prompt);
  EXPECT_FALSE(chat({{"add_generation_prompt", false}}).add_generation_prompt);
  EXPECT_EQ(chat({{"chat_template_kwargs", {{"enable_thinking", false}}}}).template_kwargs,
            Json({{"enable_thinking", false}}));
  expect_bad({{"chat_template_kwargs", 3}}, "chat_template_kwargs");
  expect_bad({{"chat_template_kwargs", {{"tools", Json::array()}}}}, "chat_template_kwargs.tools");
  expect_bad({{"chat_template_kwargs", {{"messages", Json::array()}}}}, "chat_template_kwargs.messages");
}

TEST(ApiRequest, ToolUseInTheHistoryIsFound) {
  const Json plain = Json::array({{{"role", "user"}, {"content", "hi"}},
                                  {{"role", "assistant"}, {"content", "yo"}, {"tool_calls", Json::array()}}});
  EXPECT_FALSE(tool_use_in_history(plain));
  const Json call = Json::array(
      {{{"role", "user"}, {"content", "hi"}},
       {{"role", "assistant"}, {"content", nullptr},
        {"tool_calls", Json::array({{{"id", "c"}, {"type", "function"}, {"function", {{"name", "f"}}}}})}}});
  EXPECT_EQ(tool_use_in_history(call), "messages[1].tool_calls");
  const Json result = Json::array({{{"role", "user"}, {"content", "hi"}},
                                   {{"role", "tool"}, {"content", "42"}, {"tool_call_id", "c"}}});
  EXPECT_EQ(tool_use_in_history(result), "messages[1].role");
}

// The body's text: every failure a 400 that names the body, nothing thrown past the reader.
TEST(ApiRequest, BodyTextThatOverflowsOrNestsTooDeepIsRefused) {
  const std::string overflow = R"({"messages":[{"role":"user","content":"x"}],"temperature":1e400})";
  const std::string deep = R"({"messages":[{"role":"user","content":"x","x":)" + std::string(300000, '[') +
                           std::string(300000, ']') + "}]}";
  for (const auto& text : {overflow, deep, std::string("{\"messages\":"), std::string("[1")}) {
    try {
      read_api_request(text, Endpoint::chat);
      ADD_FAILURE() << "no error for " << text.substr(0, 80);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400u);
      EXPECT_NE(std::string(e.what()).find("request body"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(read_api_request(R"({"messages":[{"role":"user","content":"x"}]})", Endpoint::chat).messages.size(), 1u);
}

}  // namespace
}  // namespace tessera::net
