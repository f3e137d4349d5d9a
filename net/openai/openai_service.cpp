#include "net/openai/openai_service.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "net/http/http_text.hpp"
#include "net/openai/api_error.hpp"
#include "net/openai/api_response.hpp"
#include "net/openai/error_status.hpp"
#include "net/openai/unsupported_parameters.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/log.hpp"

namespace tessera::net {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr const char* kJson = "application/json";

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random()));
  return std::string(prefix) + hex;
}

std::string path_of(const HttpRequest& request) {
  const std::string target(request.target());
  return target.substr(0, target.find('?'));
}

// The answer to the exception being handled: whatever went wrong, it ends this request alone.
void respond_exception(Responder& responder, const std::string& what_request) noexcept {
  try {
    try {
      throw;
    } catch (const ApiError& error) {
      respond_error(responder, error);
    } catch (const Error& error) {
      const ApiError answer = api_error(Failure::of(error));
      if (answer.status >= 500) logger().error("{} failed: {}", what_request, error.what());
      respond_error(responder, answer);
    } catch (const std::exception& error) {
      logger().error("internal error in {}: {}", what_request, error.what());
      respond_error(responder, ApiError(500, "internal error"));
    } catch (...) {
      logger().error("internal error in {}", what_request);
      respond_error(responder, ApiError(500, "internal error"));
    }
  } catch (...) {  // not even the error could be sent (out of memory): the connection will close
  }
}

std::string request_name(const HttpRequest& request) {
  return std::string(request.method_string()) + " " + path_of(request);
}

// GET routes answer HEAD too (the HTTP server leaves the body out of the response).
constexpr const char* kGetMethods = "GET, HEAD";
constexpr const char* kPostMethods = "POST";

bool method_allowed(http::verb method, const char* allowed) {
  if (allowed == kPostMethods) return method == http::verb::post;
  return method == http::verb::get || method == http::verb::head;
}

}  // namespace

void respond_json(Responder& responder, unsigned status, const OrderedJson& body, HttpHeaders headers) {
  responder.respond(status, kJson, body.dump(-1, ' ', false, OrderedJson::error_handler_t::replace),
                    std::move(headers));
}

void respond_error(Responder& responder, const ApiError& error) {
  HttpHeaders headers(error.headers.begin(), error.headers.end());
  if (error.status == 401) headers.emplace_back("WWW-Authenticate", "Bearer");
  if (error.status == 429 || error.status == 503) headers.emplace_back("Retry-After", kRetryAfterSeconds);
  responder.respond(error.status, kJson,
                    error_json(error.status, error.what(), error.param, error.type, error.code),
                    std::move(headers));
}

// One completion request from submission to its last byte. The engine calls on_token and
// on_final one at a time, in order, on its threads.
struct OpenAiService::Generation {
  OpenAiService* service = nullptr;
  ApiRequest api;
  ResponseIdentity who;
  std::shared_ptr<Responder> responder;
  // A final delivered on this thread came out of submit itself (the engine refused the request);
  // the engine's own finals arrive on its threads.
  std::thread::id submitting_thread;
  Clock::time_point arrival;
  Clock::time_point last_event;
  bool any_token = false;
  bool stream_started = false;
  std::size_t token_bytes = 0;          // the texts of the tokens so far, for text_offset
  std::string text;                     // non-streamed: all of it
  std::vector<TokenLogprob> logprobs;   // non-streamed: all of them

  void start_stream() {
    if (stream_started) return;
    stream_started = true;
    service->metrics_.stream_opened();
    responder->start_stream(200, "text/event-stream");
    if (who.endpoint == Endpoint::chat) {  // as OpenAI: a first chunk carrying the role
      responder->send(sse_event(chunk_json(who, "", nullptr, "", /*first=*/true)));
    }
  }

  void end_stream() {
    responder->send(kSseDone);
    responder->finish();
    service->metrics_.stream_closed();
  }

  std::vector<TokenLogprob> event_logprobs(const actors::TokenEvent& event) const {
    std::vector<TokenLogprob> out;
    for (std::size_t i = 0; i < event.token_ids.size() && i < event.logprobs.size(); ++i) {
      TokenLogprob token{service->token_text(event.token_ids[i]), event.logprobs[i], {}};
      if (i < event.top_logprobs.size()) {
        for (const auto& [id, logprob] : event.top_logprobs[i]) {
          token.top.emplace_back(service->token_text(id), logprob);
        }
      }
      out.push_back(std::move(token));
    }
    return out;
  }

  void on_token(const actors::TokenEvent& event) {
    const auto now = Clock::now();
    const auto count = static_cast<std::int64_t>(event.token_ids.size());
    if (!any_token) {
      service->metrics_.first_token(std::chrono::duration<double>(now - arrival).count());
      if (count > 1) service->metrics_.output_tokens(0.0, count - 1);
    } else {
      service->metrics_.output_tokens(std::chrono::duration<double>(now - last_event).count(), count);
    }
    any_token = true;
    last_event = now;
    const bool with_logprobs = api.sampling.logprobs;
    auto pieces = with_logprobs ? event_logprobs(event) : std::vector<TokenLogprob>{};
    if (!api.stream) {
      text += event.text;
      for (auto& piece : pieces) logprobs.push_back(std::move(piece));
      return;
    }
    start_stream();
    if (event.text.empty() && !with_logprobs) return;  // text held back for now
    const std::size_t offset = token_bytes;
    for (const auto& piece : pieces) token_bytes += piece.text.size();
    responder->send(sse_event(chunk_json(
        who, event.text, logprobs_json(who.endpoint, pieces, with_logprobs, offset), "", false)));
  }

  void on_final(const actors::FinalEvent& final) {
    --service->in_flight_;
    service->metrics_.request_finished(final.finish_reason, final.prompt_tokens,
                                       final.completion_tokens);
    if (final.finish_reason == "error" && std::this_thread::get_id() == submitting_thread) {
      // Refused by the engine before it took the request: by its own checks (invalid_argument,
      // with the field), or because it is shut down (unavailable).
      respond_error(*responder, refusal(final.failure));
      return;
    }
    if (final.finish_reason == "stop" || final.finish_reason == "length") {
      finish_normally(final);
    } else {
      finish_abnormally(final);
    }
  }

  void finish_normally(const actors::FinalEvent& final) {
    if (!api.stream) {
      respond_json(*responder, 200,
                   response_json(who, text, logprobs_json(who.endpoint, logprobs, api.sampling.logprobs),
                                 final.finish_reason, final.prompt_tokens, final.completion_tokens));
      return;
    }
    start_stream();
    responder->send(sse_event(chunk_json(who, "", nullptr, final.finish_reason, false)));
    if (api.include_usage) {
      responder->send(sse_event(usage_chunk_json(who, final.prompt_tokens, final.completion_tokens)));
    }
    end_stream();
  }

  // The engine's failure as the client named things: the engine knows max_tokens only, the
  // client may have sent max_completion_tokens. The engine's message starts with its field.
  ApiError refusal(const Failure& failure) const {
    ApiError error = api_error(failure);
    const std::string& field = failure.field;
    if (field == "max_tokens" && failure.message.rfind(field, 0) == 0) {
      error = ApiError(error.status, api.max_tokens_field + failure.message.substr(field.size()),
                       api.max_tokens_field);
    }
    return error;
  }

  // Cancelled (the client left, or the server is stopping) or failed inside the engine. The
  // failure's category says whose trouble it is: a cluster that lost a worker is unavailable
  // (503, retry later), a broken model file or a bug the server's (500).
  void finish_abnormally(const actors::FinalEvent& final) {
    ApiError error(503, "the request was cancelled: the server is shutting down");
    if (final.finish_reason == "error") {
      error = refusal(final.failure);
      if (error.status == 500) {
        error = ApiError(500, "generation failed: " + final.failure.message, final.failure.field);
      }
    }
    if (!api.stream) {
      respond_error(*responder, error);
      return;
    }
    start_stream();
    responder->send("data: " + error_json(error.status, error.what(), error.param) + "\n\n");
    end_stream();
  }
};

OpenAiService::OpenAiService(OpenAiServiceOptions options, actors::Engine& engine)
    : options_(std::move(options)),
      api_key_(options_.api_key),
      engine_(engine),
      created_(unix_seconds()),
      prompt_workers_(options_.prompt_threads, options_.max_waiting_prompts) {
  const auto& engine_config = engine_.config();
  const auto kv_capacity = engine_.kv_blocks() * engine_config.block_size;
  const auto positions = engine_.model_config().max_position_embeddings;
  // The binding limit is the smaller one, and the client is told which it is.
  if (positions > 0 && positions <= kv_capacity) {
    context_tokens_ = positions;
    context_limit_ = "the model's context of " + std::to_string(positions) +
                     " tokens (max_position_embeddings)";
  } else {
    context_tokens_ = kv_capacity;
    context_limit_ = "the KV pool's capacity of " + std::to_string(kv_capacity) + " tokens";
  }
  const auto& dir = engine_config.model_dir;
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    tokenizer_ = runtime::Tokenizer::load(dir);
    prompt_bound_ = PromptBound::for_tokenizer(dir, *tokenizer_, engine_.model_config().vocab_size);
    try {
      chat_template_ = runtime::ChatTemplate::from_model_dir(dir);
      // A template that never mentions tool_calls drops them from the conversation unseen.
      template_renders_tool_calls_ = chat_template_->source().find("tool_calls") != std::string::npos;
    } catch (const Error& e) {
      chat_template_problem_ = e.what();
    }
  } else {
    chat_template_problem_ = "the model folder has no tokenizer.json";
  }
}

OpenAiService::~OpenAiService() {
  begin_shutdown();  // what still waits for a prompt worker is refused, quickly
  prompt_workers_.stop();
}

bool OpenAiService::authorised(const HttpRequest& request) const {
  if (!api_key_.required()) return true;
  const auto header = request.find(http::field::authorization);
  if (header == request.end()) return false;
  const auto value = header->value();
  return api_key_.accepts(std::string_view(value.data(), value.size()));
}

void OpenAiService::handle(HttpRequest&& request, std::shared_ptr<Responder> responder) {
  try {
    route(request, responder);
  } catch (...) {
    respond_exception(*responder, request_name(request));
  }
}

void OpenAiService::route(HttpRequest& request, const std::shared_ptr<Responder>& responder) {
  const std::string path = path_of(request);
  const auto allow = [&](const char* methods) {
    if (method_allowed(request.method(), methods)) return true;
    ApiError error(405, "use " + std::string(methods) + " for " + path);
    error.headers.emplace_back("Allow", methods);
    respond_error(*responder, error);
    return false;
  };
  if (path == "/health") {
    if (allow(kGetMethods)) respond_health(*responder);
    return;
  }
  if (path == "/metrics") {
    if (allow(kGetMethods)) respond_metrics(*responder);
    return;
  }
  if (path == "/version") {
    if (allow(kGetMethods)) respond_version(*responder);
    return;
  }
  // The tokenizer endpoints use the model as the API does: they need the key too.
  const bool tokenizer_route = path == "/tokenize" || path == "/detokenize";
  if ((path.rfind("/v1/", 0) == 0 || tokenizer_route) && !authorised(request)) {
    respond_error(*responder, ApiError(401, "a valid API key is needed: send Authorization: Bearer <key>",
                                       "", "invalid_request_error", "invalid_api_key"));
    return;
  }
  if (path == "/v1/models") {
    if (allow(kGetMethods)) respond_models(*responder);
    return;
  }
  if (const std::string prefix = "/v1/models/"; path.rfind(prefix, 0) == 0) {
    if (allow(kGetMethods)) respond_model(*responder, path.substr(prefix.size()));
    return;
  }
  if (path == "/v1/chat/completions" || path == "/v1/completions") {
    if (!allow(kPostMethods)) return;
    // The responder is shared, not moved: if offload() throws, handle() still answers with it.
    const auto endpoint = path == "/v1/chat/completions" ? Endpoint::chat : Endpoint::completion;
    offload(std::move(request), responder,
            [this, endpoint](const HttpRequest& body, const std::shared_ptr<Responder>& answer) {
              prepare(body, endpoint, answer);
            });
    return;
  }
  if (tokenizer_route) {
    if (!allow(kPostMethods)) return;
    const bool to_tokens = path == "/tokenize";
    offload(std::move(request), responder,
            [this, to_tokens](const HttpRequest& body, const std::shared_ptr<Responder>& answer) {
              to_tokens ? tokenize(body, *answer) : detokenize(body, *answer);
            });
    return;
  }
  respond_error(*responder, ApiError(404, "no route for " + path, "", "invalid_request_error", "not_found"));
}

std::string OpenAiService::token_text(std::int32_t id) const {
  if (!tokenizer_) return "token_id:" + std::to_string(id);
  const std::int32_t ids[] = {id};
  return tokenizer_->decode(ids, /*skip_special_tokens=*/false);
}

std::vector<std::int32_t> OpenAiService::prompt_tokens(const ApiRequest& api) const {
  if (api.endpoint == Endpoint::completion && api.prompt_is_ids) return api.prompt_ids;
  if (!tokenizer_) {
    throw ApiError(400, "this model has no tokenizer.json: give the prompt as token ids", "prompt");
  }
  const std::string field = api.endpoint == Endpoint::chat ? "messages" : "prompt";
  try {
    if (api.endpoint == Endpoint::completion) {
      refuse_what_cannot_fit(api.prompt_text.size(), field);
      return tokenizer_->encode(api.prompt_text, true);
    }
    // The rendered template holds its special tokens already, as with HF's apply_chat_template.
    const std::string text = render_chat(api.messages, api.add_generation_prompt, api.template_kwargs);
    refuse_what_cannot_fit(text.size(), field);
    return tokenizer_->encode(text, false);
  } catch (const Error& e) {
    throw ApiError(400, e.what(), field);
  }
}

std::string OpenAiService::render_chat(const OrderedJson& messages, bool add_generation_prompt,
                                       const OrderedJson& template_kwargs) const {
  if (!chat_template_) throw ApiError(400, "chat is unavailable: " + chat_template_problem_, "messages");
  if (!template_renders_tool_calls_) {
    if (const auto tool_field = tool_use_in_history(messages)) {
      throw bad_field(*tool_field, "tool calls and tool results cannot be given to this model: its "
                                   "chat template does not render tool calls");
    }
  }
  try {
    return chat_template_->render(messages, add_generation_prompt, template_kwargs);
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "messages");
  }
}

// Before the expensive part: tokenizing 8 MB takes seconds, and the bound says at once that
// its tokens could never fit.
void OpenAiService::refuse_what_cannot_fit(std::size_t prompt_bytes, const std::string& field) const {
  const auto at_least = prompt_bound_.min_tokens(prompt_bytes);
  if (at_least < context_tokens_) return;
  throw bad_field(field, "the prompt's " + std::to_string(prompt_bytes) + " bytes are at least " +
                             std::to_string(at_least) + " tokens, which leave no room in " +
                             context_limit_);
}

// The engine checks this too, but names only max_tokens and tests its KV pool first; here the
// client hears the field it sent and the limit that binds. Written so that no sum overflows.
void OpenAiService::check_room(const ApiRequest& api, std::size_t prompt_tokens) const {
  const auto prompt = static_cast<std::int64_t>(prompt_tokens);
  const auto room = context_tokens_ - prompt;
  if (room < 1) {
    throw bad_field(api.endpoint == Endpoint::chat ? "messages" : "prompt",
                    "the prompt's " + std::to_string(prompt) + " tokens leave no room in " + context_limit_);
  }
  if (api.max_tokens && *api.max_tokens > room) {
    throw bad_field(api.max_tokens_field,
                    "the prompt's " + std::to_string(prompt) + " tokens plus " +
                        std::to_string(*api.max_tokens) + " new ones exceed " + context_limit_ +
                        "; at most " + std::to_string(room) + " new tokens fit");
  }
}

// On the I/O thread only what is cheap: the request moves to a prompt worker, or is refused
// with 429 when too many already wait for one.
void OpenAiService::offload(HttpRequest&& request, std::shared_ptr<Responder> responder, Work work) {
  if (shutting_down_) throw ApiError(503, "the server is shutting down");
  // std::function needs a copyable task; the body itself is never copied.
  auto shared = std::make_shared<HttpRequest>(std::move(request));
  const bool queued = prompt_workers_.try_post([this, shared, responder, work = std::move(work)] {
    try {
      if (shutting_down_) throw ApiError(503, "the server is shutting down");
      work(*shared, responder);
    } catch (...) {
      respond_exception(*responder, request_name(*shared));
    }
  });
  if (!queued) {
    throw ApiError(429, "too many requests are waiting to be read; retry later", "",
                   "rate_limit_exceeded", "rate_limit_exceeded");
  }
}

void OpenAiService::prepare(const HttpRequest& request, Endpoint endpoint,
                            std::shared_ptr<Responder> responder) {
  auto generation = std::make_shared<Generation>();
  generation->arrival = Clock::now();
  if (shutting_down_) throw ApiError(503, "the server is shutting down");
  ApiRequest api = read_api_request(request.body(), endpoint);
  check_model(api.model);
  actors::GenerateRequest generate;
  generate.prompt = prompt_tokens(api);
  check_room(api, generate.prompt.size());
  generate.max_tokens = api.max_tokens.value_or(context_tokens_ - static_cast<std::int64_t>(generate.prompt.size()));
  generate.sampling = api.sampling;
  generate.stop = api.stop;
  generate.ignore_eos = api.ignore_eos;
  generate.stop_token_ids = api.stop_token_ids;
  generate.include_stop_str_in_output = api.include_stop_str_in_output;
  generate.skip_special_tokens = api.skip_special_tokens;
  if (in_flight_.fetch_add(1) >= engine_.config().max_running + options_.max_queue) {
    --in_flight_;
    throw ApiError(429, "too many requests are queued; retry later", "", "rate_limit_exceeded",
                   "rate_limit_exceeded");
  }
  generation->service = this;
  generation->api = std::move(api);
  generation->who = {endpoint, random_id(endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-"),
                     unix_seconds(), options_.model_id};
  generation->responder = responder;
  generation->submitting_thread = std::this_thread::get_id();
  const auto handle = engine_.submit(
      std::move(generate), [generation](const actors::TokenEvent& e) { generation->on_token(e); },
      [generation](const actors::FinalEvent& e) { generation->on_final(e); });
  responder->on_disconnect([&engine = engine_, id = handle.id()] { engine.cancel(id); });
}

}  // namespace tessera::net
