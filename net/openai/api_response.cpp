#include "net/openai/api_response.hpp"

namespace tessera::net {
namespace {

OrderedJson utf8_bytes(const std::string& text) {
  OrderedJson bytes = OrderedJson::array();
  for (const unsigned char c : text) bytes.push_back(c);
  return bytes;
}

OrderedJson nullable(const std::string& s) { return s.empty() ? OrderedJson() : OrderedJson(s); }

OrderedJson base(const ResponseIdentity& who, const char* chat_object, const char* completion_object) {
  return {{"id", who.id},
          {"object", who.endpoint == Endpoint::chat ? chat_object : completion_object},
          {"created", who.created},
          {"model", who.model}};
}

}  // namespace

OrderedJson usage_json(std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

OrderedJson logprobs_json(Endpoint endpoint, const std::vector<TokenLogprob>& tokens, bool requested,
                          std::size_t offset) {
  if (!requested) return nullptr;
  if (endpoint == Endpoint::chat) {
    OrderedJson content = OrderedJson::array();
    for (const auto& token : tokens) {
      OrderedJson top = OrderedJson::array();
      for (const auto& [text, logprob] : token.top) {
        top.push_back({{"token", text}, {"logprob", logprob}, {"bytes", utf8_bytes(text)}});
      }
      content.push_back({{"token", token.text},
                         {"logprob", token.logprob},
                         {"bytes", utf8_bytes(token.text)},
                         {"top_logprobs", std::move(top)}});
    }
    return {{"content", std::move(content)}, {"refusal", nullptr}};
  }
  OrderedJson texts = OrderedJson::array(), logprobs = OrderedJson::array(),
              tops = OrderedJson::array(), offsets = OrderedJson::array();
  for (const auto& token : tokens) {
    texts.push_back(token.text);
    logprobs.push_back(token.logprob);
    OrderedJson top = OrderedJson::object();
    for (const auto& [text, logprob] : token.top) top[text] = logprob;
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += token.text.size();
  }
  return {{"tokens", std::move(texts)},
          {"token_logprobs", std::move(logprobs)},
          {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

OrderedJson chunk_json(const ResponseIdentity& who, const std::string& text, OrderedJson logprobs,
                       const std::string& finish_reason, bool first) {
  OrderedJson chunk = base(who, "chat.completion.chunk", "text_completion");
  OrderedJson choice = {{"index", 0}};
  if (who.endpoint == Endpoint::chat) {
    OrderedJson delta = OrderedJson::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = nullable(finish_reason);
  chunk["choices"] = OrderedJson::array({std::move(choice)});
  return chunk;
}

OrderedJson usage_chunk_json(const ResponseIdentity& who, std::int64_t prompt_tokens,
                             std::int64_t completion_tokens) {
  OrderedJson chunk = base(who, "chat.completion.chunk", "text_completion");
  chunk["choices"] = OrderedJson::array();
  chunk["usage"] = usage_json(prompt_tokens, completion_tokens);
  return chunk;
}

OrderedJson response_json(const ResponseIdentity& who, const std::string& text, OrderedJson logprobs,
                          const std::string& finish_reason, std::int64_t prompt_tokens,
                          std::int64_t completion_tokens) {
  OrderedJson response = base(who, "chat.completion", "text_completion");
  OrderedJson choice = {{"index", 0}};
  if (who.endpoint == Endpoint::chat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = finish_reason;
  response["choices"] = OrderedJson::array({std::move(choice)});
  response["usage"] = usage_json(prompt_tokens, completion_tokens);
  return response;
}

std::string sse_event(const OrderedJson& payload) {
  return "data: " + payload.dump(-1, ' ', false, OrderedJson::error_handler_t::replace) + "\n\n";
}

}  // namespace tessera::net
