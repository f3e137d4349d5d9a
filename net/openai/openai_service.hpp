#pragma once
// The OpenAI-compatible API over an Engine: routes requests, turns each completion request into
// a GenerateRequest, and writes the engine's token events back as one JSON response or as
// Server-Sent Events. A client that disconnects has its request cancelled, which frees its KV
// blocks. Requests beyond the running batch and a bounded queue are refused with 429.
// Completion requests are read, rendered and tokenized on the service's own prompt workers, not
// on the HTTP I/O threads; no exception thrown while answering one request reaches the server.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/engine.hpp"
#include "net/http/http_server.hpp"
#include "net/openai/api_error.hpp"
#include "net/openai/api_key.hpp"
#include "net/openai/api_request.hpp"
#include "net/openai/api_response.hpp"
#include "net/openai/metrics.hpp"
#include "net/openai/prompt_bound.hpp"
#include "net/openai/prompt_workers.hpp"
#include "runtime/chat/chat_template.hpp"
#include "runtime/tokenizer/tokenizer.hpp"

namespace tessera::net {

struct OpenAiServiceOptions {
  std::string model_id;        // what /v1/models lists and requests must name (when they name one)
  std::string api_key;         // empty: no key needed
  std::int64_t max_queue = 1024;  // requests allowed to wait beyond those running
  int prompt_threads = 2;                // threads that read, render and tokenize prompts
  std::size_t max_waiting_prompts = 128;  // requests waiting for them; more get 429
};

class OpenAiService {
 public:
  // The engine must outlive the service. Destroying the service lets the prompt workers finish
  // (refusing, with 503, what still waits) and joins them. Loads the engine's model folder's tokenizer and chat
  // template when it has them (without them, text prompts and chat are refused with a clear
  // error).
  OpenAiService(OpenAiServiceOptions options, actors::Engine& engine);
  ~OpenAiService();

  // Prompt plus output at most: the model's context, or the KV pool when that is smaller.
  std::int64_t context_tokens() const { return context_tokens_; }

  void handle(HttpRequest&& request, std::shared_ptr<Responder> responder);

  // From here on new completion requests get 503; those in flight go on.
  void begin_shutdown() { shutting_down_ = true; }
  std::int64_t in_flight() const { return in_flight_.load(); }
  ServerMetrics& metrics() { return metrics_; }

 private:
  struct Generation;
  void route(HttpRequest& request, const std::shared_ptr<Responder>& responder);
  // Moves `work` to a prompt worker (429 when too many wait): what parses a body or tokenizes.
  using Work = std::function<void(const HttpRequest&, const std::shared_ptr<Responder>&)>;
  void offload(HttpRequest&& request, std::shared_ptr<Responder> responder, Work work);
  // On a prompt worker: reads the body, tokenizes the prompt and submits it to the engine.
  void prepare(const HttpRequest& request, Endpoint endpoint, std::shared_ptr<Responder> responder);
  std::vector<std::int32_t> prompt_tokens(const ApiRequest& request) const;
  // The conversation through the chat template (a 400 naming messages when it cannot be).
  std::string render_chat(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                          const nlohmann::ordered_json& template_kwargs) const;
  // 404 model_not_found unless `model` is empty or the served model.
  void check_model(const std::string& model) const;
  // POST /tokenize and /detokenize (openai_service_tokenize.cpp), on a prompt worker.
  void tokenize(const HttpRequest& request, Responder& responder) const;
  void detokenize(const HttpRequest& request, Responder& responder) const;
  void respond_version(Responder& responder) const;
  void refuse_what_cannot_fit(std::size_t prompt_bytes, const std::string& field) const;
  void check_room(const ApiRequest& request, std::size_t prompt_tokens) const;
  std::string token_text(std::int32_t id) const;
  OrderedJson model_json() const;
  void respond_models(Responder& responder) const;
  void respond_metrics(Responder& responder) const;
  void respond_health(Responder& responder) const;
  bool authorised(const HttpRequest& request) const;
  void respond_model(Responder& responder, const std::string& id) const;

  OpenAiServiceOptions options_;
  ApiKey api_key_;
  actors::Engine& engine_;
  std::optional<runtime::Tokenizer> tokenizer_;
  PromptBound prompt_bound_;
  std::optional<runtime::ChatTemplate> chat_template_;
  std::string chat_template_problem_;  // why there is none
  bool template_renders_tool_calls_ = false;
  std::int64_t context_tokens_ = 0;
  std::string context_limit_;  // what context_tokens_ is, in words: the context or the KV pool
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<bool> shutting_down_{false};
  std::int64_t created_ = 0;  // when the model was loaded, for /v1/models
  ServerMetrics metrics_;
  PromptWorkers prompt_workers_;  // last: stopped before anything its tasks use goes away
};

// A client told "busy" (429, 503) should come back, and soon: requests finish in seconds.
inline constexpr const char* kRetryAfterSeconds = "1";

// The OpenAI error body for `error`, with its status.
void respond_error(Responder& responder, const ApiError& error);
// `body` as application/json.
void respond_json(Responder& responder, unsigned status, const OrderedJson& body,
                  HttpHeaders headers = {});

}  // namespace tessera::net
