#include "net/openai/api_request.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "net/openai/api_error.hpp"
#include "net/openai/unsupported_parameters.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/json_parse.hpp"

namespace tessera::net {
namespace {

using Json = nlohmann::ordered_json;

const Json* find(const Json& body, const char* field) {
  const auto it = body.find(field);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<bool> boolean(const Json& body, const char* field) {
  const Json* value = find(body, field);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) throw bad_field(field, "must be a boolean");
  return value->get<bool>();
}

std::optional<double> number(const Json& body, const char* field, double low, double high) {
  const Json* value = find(body, field);
  if (!value) return std::nullopt;
  if (!value->is_number()) throw bad_field(field, "must be a number");
  const double x = value->get<double>();
  if (!(x >= low && x <= high)) {
    throw bad_field(field, "must be between " + Json(low).dump() + " and " + Json(high).dump() +
                               " (got " + value->dump() + ")");
  }
  return x;
}

// JSON integers only: 1.5 is refused, as OpenAI refuses it.
std::optional<std::int64_t> integer(const Json& body, const char* field, std::int64_t low,
                                    std::int64_t high) {
  const Json* value = find(body, field);
  if (!value) return std::nullopt;
  if (!value->is_number_integer()) throw bad_field(field, "must be an integer");
  if (value->is_number_unsigned() && value->get<std::uint64_t>() > static_cast<std::uint64_t>(high)) {
    throw bad_field(field, "must be at most " + std::to_string(high) + " (got " + value->dump() + ")");
  }
  const auto x = value->get<std::int64_t>();
  if (x < low || x > high) {
    throw bad_field(field, "must be between " + std::to_string(low) + " and " +
                               std::to_string(high) + " (got " + value->dump() + ")");
  }
  return x;
}

std::vector<std::string> stop_strings(const Json& body) {
  const Json* value = find(body, "stop");
  if (!value) return {};
  std::vector<std::string> stop;
  if (value->is_string()) {
    stop.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    if (value->size() > 4) throw bad_field("stop", "at most 4 stop strings are allowed");
    for (const auto& item : *value) {
      if (!item.is_string()) throw bad_field("stop", "must be a string or an array of strings");
      stop.push_back(item.get<std::string>());
    }
  } else {
    throw bad_field("stop", "must be a string or an array of strings");
  }
  for (const auto& s : stop) {
    if (s.empty()) throw bad_field("stop", "stop strings must not be empty");
  }
  return stop;
}

void check_content(const Json& content, const std::string& field) {
  if (content.is_null() || content.is_string()) return;
  if (!content.is_array()) throw bad_field(field, "must be a string, an array of content parts or null");
  for (const auto& part : content) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
      throw bad_field(field, "each content part must be an object with a string \"type\"");
    }
    if (part["type"] != "text") {
      throw bad_field(field, "content parts of type " + part["type"].dump() +
                                 " are not supported (only \"text\")");
    }
    if (!part.contains("text") || !part["text"].is_string()) {
      throw bad_field(field, "a text content part needs a string \"text\"");
    }
  }
}

// Text parts read as one string, as most servers for open-weight models read them: the chat
// templates of text-only models expect a string. In place: messages are the bulk of a body.
void join_text_parts(Json& messages) {
  for (auto& message : messages) {
    auto content = message.find("content");
    if (content == message.end() || !content->is_array()) continue;
    std::string text;
    for (std::size_t i = 0; i < content->size(); ++i) {
      if (i > 0) text += '\n';
      text += (*content)[i]["text"].get<std::string>();
    }
    *content = std::move(text);
  }
}

}  // namespace

// Checked, then moved out of the body: a conversation is not copied.
Json read_chat_messages(Json& body) {
  const auto it = body.find("messages");
  if (it == body.end() || it->is_null()) throw bad_field("messages", "is required");
  if (!it->is_array() || it->empty()) throw bad_field("messages", "must be a non-empty array");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& message = (*it)[i];
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!message.is_object()) throw bad_field(field, "must be an object");
    const auto role = message.find("role");
    if (role == message.end() || !role->is_string()) throw bad_field(field + ".role", "must be a string");
    static const char* const roles[] = {"system", "developer", "user", "assistant", "tool"};
    if (std::find(std::begin(roles), std::end(roles), role->get<std::string>()) == std::end(roles)) {
      throw bad_field(field + ".role", "must be one of system, developer, user, assistant, tool (got " +
                                           role->dump() + ")");
    }
    const auto content = message.find("content");
    // Only an assistant turn may leave its content out (when it carries tool calls instead).
    if ((content == message.end() || content->is_null()) && *role != "assistant") {
      throw bad_field(field + ".content", "is required for a " + role->get<std::string>() + " message");
    }
    if (content != message.end()) check_content(*content, field + ".content");
  }
  Json messages = std::move(*it);
  join_text_parts(messages);
  return messages;
}

Json read_chat_template_kwargs(const Json& body) {
  const Json* kwargs = find(body, "chat_template_kwargs");
  if (!kwargs) return Json::object();
  if (!kwargs->is_object()) throw bad_field("chat_template_kwargs", "must be an object");
  // What the service sets itself, the functions every template may call (a value of the same
  // name would hide them), and tools, which would make the model call tools that no one parses
  // out of its answer.
  static const char* const reserved[] = {"messages",      "add_generation_prompt", "bos_token",
                                         "eos_token",     "tools",                 "documents",
                                         "raise_exception", "strftime_now",        "namespace",
                                         "dict",          "range"};
  for (const char* key : reserved) {
    if (kwargs->contains(key)) {
      throw bad_field(std::string("chat_template_kwargs.") + key,
                      "may not be set here: tessera sets it itself");
    }
  }
  return *kwargs;
}

std::vector<std::int32_t> read_token_ids(const Json& value, const std::string& field, bool allow_empty) {
  if (!value.is_array()) throw bad_field(field, "must be an array of token ids");
  if (value.empty() && !allow_empty) throw bad_field(field, "must hold at least one token id");
  std::vector<std::int32_t> ids;
  ids.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto& item = value[i];
    constexpr auto kMax = std::numeric_limits<std::int32_t>::max();
    const bool valid = item.is_number_unsigned() ? item.get<std::uint64_t>() <= std::uint64_t{kMax}
                       : item.is_number_integer() ? item.get<std::int64_t>() >= 0 && item.get<std::int64_t>() <= kMax
                                                  : false;
    if (!valid) {
      throw bad_field(field, "token ids must be non-negative 32-bit integers (item " + std::to_string(i) +
                                 " is " + item.dump() + ")");
    }
    ids.push_back(static_cast<std::int32_t>(item.get<std::int64_t>()));
  }
  return ids;
}

namespace {

// vLLM's extras that shape how the template renders the conversation.
void read_template_options(const Json& body, ApiRequest& request) {
  request.add_generation_prompt = boolean(body, "add_generation_prompt").value_or(true);
  request.template_kwargs = read_chat_template_kwargs(body);
}

// vLLM's extras for where generation stops.
void read_stop_options(const Json& body, ApiRequest& request) {
  request.stop = stop_strings(body);
  if (const Json* ids = find(body, "stop_token_ids")) {
    request.stop_token_ids = read_token_ids(*ids, "stop_token_ids", /*allow_empty=*/true);
  }
  request.include_stop_str_in_output = boolean(body, "include_stop_str_in_output").value_or(false);
}

// A string, an array of token ids, or a batch of one of either (the API allows batches; a
// batch of several is refused, as n > 1 is).
void read_prompt(const Json& body, ApiRequest& request) {
  const Json* value = find(body, "prompt");
  if (!value) throw bad_field("prompt", "is required");
  const Json* prompt = value;
  if (value->is_array() && value->size() == 1 && ((*value)[0].is_string() || (*value)[0].is_array())) {
    prompt = &(*value)[0];
  }
  if (prompt->is_string()) {
    request.prompt_text = prompt->get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    request.prompt_ids = read_token_ids(*prompt, "prompt", /*allow_empty=*/false);
    request.prompt_is_ids = true;
  } else if (prompt->is_array() && prompt->size() > 1) {
    throw bad_field("prompt", "only one prompt per request is supported");
  } else {
    throw bad_field("prompt", "must be a string or a non-empty array of token ids");
  }
}

void read_logprobs(const Json& body, ApiRequest& request) {
  auto& sampling = request.sampling;
  if (request.endpoint == Endpoint::chat) {
    sampling.logprobs = boolean(body, "logprobs").value_or(false);
    sampling.top_logprobs = static_cast<std::int32_t>(integer(body, "top_logprobs", 0, 20).value_or(0));
    if (sampling.top_logprobs > 0 && !sampling.logprobs) {
      throw bad_field("top_logprobs", "needs logprobs set to true");
    }
  } else {
    // Completions: logprobs is the number of alternatives, 0 to 5, and asks for the chosen one.
    const auto n = integer(body, "logprobs", 0, 5);
    sampling.logprobs = n.has_value();
    sampling.top_logprobs = static_cast<std::int32_t>(n.value_or(0));
  }
}

void read_sampling(const Json& body, ApiRequest& request) {
  auto& s = request.sampling;
  s.temperature = static_cast<float>(number(body, "temperature", 0.0, 2.0).value_or(1.0));
  s.top_p = static_cast<float>(number(body, "top_p", 0.0, 1.0).value_or(1.0));
  if (s.top_p == 0.0f) throw bad_field("top_p", "must be greater than 0");
  s.presence_penalty = static_cast<float>(number(body, "presence_penalty", -2.0, 2.0).value_or(0.0));
  s.frequency_penalty = static_cast<float>(number(body, "frequency_penalty", -2.0, 2.0).value_or(0.0));
  // Extensions most open-weight servers accept; top_k -1 means off, as in vLLM.
  const auto top_k = integer(body, "top_k", -1, std::numeric_limits<std::int32_t>::max()).value_or(0);
  s.top_k = static_cast<std::int32_t>(top_k < 0 ? 0 : top_k);
  s.min_p = static_cast<float>(number(body, "min_p", 0.0, 1.0).value_or(0.0));
  s.repetition_penalty = static_cast<float>(
      number(body, "repetition_penalty", std::numeric_limits<double>::min(), 1e6).value_or(1.0));
  if (const auto seed = integer(body, "seed", std::numeric_limits<std::int64_t>::min(),
                                std::numeric_limits<std::int64_t>::max())) {
    s.seed = static_cast<std::uint64_t>(*seed);
  }
  read_logprobs(body, request);
  try {
    s.validate();
  } catch (const Error& e) {  // a rule of the sampler's that the ranges above did not cover
    throw ApiError(400, e.what(), e.field());
  }
}

}  // namespace

ApiRequest read_api_request(std::string_view text, Endpoint endpoint) {
  Json body;
  try {
    body = parse_ordered_json(text, "the request body", ErrorCategory::invalid_argument);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  return parse_api_request(std::move(body), endpoint);
}

ApiRequest parse_api_request(Json body, Endpoint endpoint) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  refuse_unsupported_parameters(body);
  ApiRequest request;
  request.endpoint = endpoint;
  if (const Json* model = find(body, "model")) {
    if (!model->is_string()) throw bad_field("model", "must be a string");
    request.model = model->get<std::string>();
  }
  if (endpoint == Endpoint::chat) {
    request.messages = read_chat_messages(body);
    read_template_options(body, request);
    request.max_tokens = integer(body, "max_completion_tokens", 1, std::numeric_limits<std::int64_t>::max());
    if (request.max_tokens) request.max_tokens_field = "max_completion_tokens";
  } else {
    read_prompt(body, request);
  }
  if (!request.max_tokens) {
    request.max_tokens = integer(body, "max_tokens", 1, std::numeric_limits<std::int64_t>::max());
  }
  if (const auto n = integer(body, "n", 1, 128); n && *n != 1) {
    throw bad_field("n", "only n = 1 is supported");
  }
  if (const auto best_of = integer(body, "best_of", 1, 128); best_of && *best_of != 1) {
    throw bad_field("best_of", "only best_of = 1 is supported");
  }
  read_stop_options(body, request);
  request.stream = boolean(body, "stream").value_or(false);
  if (const Json* options = find(body, "stream_options")) {
    if (!options->is_object()) throw bad_field("stream_options", "must be an object");
    // As OpenAI answers: the options are for a stream, and there is none.
    if (!request.stream) throw bad_field("stream_options", "is only allowed when stream is true");
    const auto include = options->find("include_usage");
    if (include != options->end() && !include->is_null()) {
      if (!include->is_boolean()) throw bad_field("stream_options.include_usage", "must be a boolean");
      request.include_usage = include->get<bool>();
    }
  }
  request.ignore_eos = boolean(body, "ignore_eos").value_or(false);
  request.skip_special_tokens = boolean(body, "skip_special_tokens").value_or(true);
  read_sampling(body, request);
  return request;
}

}  // namespace tessera::net
