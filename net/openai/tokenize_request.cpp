#include "net/openai/tokenize_request.hpp"

#include "net/openai/api_error.hpp"
#include "net/openai/api_request.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"

namespace tessera::net {
namespace {

using Json = nlohmann::ordered_json;

Json read_object(std::string_view text) {
  Json body;
  try {
    body = parse_ordered_json(text, "the request body", ErrorCategory::invalid_argument);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return body;
}

const Json* find(const Json& body, const char* field) {
  const auto it = body.find(field);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::string read_model(const Json& body) {
  const Json* model = find(body, "model");
  if (!model) return {};
  if (!model->is_string()) throw bad_field("model", "must be a string");
  return model->get<std::string>();
}

bool read_boolean(const Json& body, const char* field, bool absent) {
  const Json* value = find(body, field);
  if (!value) return absent;
  if (!value->is_boolean()) throw bad_field(field, "must be a boolean");
  return value->get<bool>();
}

// vLLM's /tokenize fields tessera does not act on: refused by name rather than ignored.
void refuse_unsupported(const Json& body) {
  for (const char* field : {"return_token_strs", "tools", "continue_final_message", "chat_template",
                            "mm_processor_kwargs"}) {
    if (body.contains(field)) throw bad_field(field, "is not supported by tessera's /tokenize");
  }
}

}  // namespace

TokenizeRequest read_tokenize_request(std::string_view text) {
  Json body = read_object(text);
  refuse_unsupported(body);
  TokenizeRequest request;
  request.model = read_model(body);
  const Json* prompt = find(body, "prompt");
  const Json* messages = find(body, "messages");
  if (prompt && messages) throw bad_field("prompt", "give either prompt or messages, not both");
  if (!prompt && !messages) throw bad_field("prompt", "is required (or messages, for a chat)");
  request.chat = messages != nullptr;
  if (request.chat) {
    request.messages = read_chat_messages(body);
    request.add_generation_prompt = read_boolean(body, "add_generation_prompt", true);
    request.template_kwargs = read_chat_template_kwargs(body);
  } else {
    if (!prompt->is_string()) throw bad_field("prompt", "must be a string");
    request.prompt = prompt->get<std::string>();
    // Chat-only fields on a text prompt would be silently meaningless.
    for (const char* field : {"add_generation_prompt", "chat_template_kwargs"}) {
      if (find(body, field)) throw bad_field(field, "applies only to messages, not to a prompt");
    }
  }
  request.add_special_tokens = read_boolean(body, "add_special_tokens", !request.chat);
  return request;
}

DetokenizeRequest read_detokenize_request(std::string_view text) {
  const Json body = read_object(text);
  DetokenizeRequest request;
  request.model = read_model(body);
  const Json* tokens = find(body, "tokens");
  if (!tokens) throw bad_field("tokens", "is required");
  request.tokens = read_token_ids(*tokens, "tokens", /*allow_empty=*/true);
  return request;
}

Json tokenize_response_json(const std::vector<std::int32_t>& tokens, std::int64_t max_model_len) {
  return {{"count", tokens.size()}, {"max_model_len", max_model_len}, {"tokens", tokens}};
}

}  // namespace tessera::net
