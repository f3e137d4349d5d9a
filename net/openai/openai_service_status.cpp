// The service's answers that need no engine work: the model list, the version, health and
// metrics. Split from openai_service.cpp, which routes and completes requests.
#include "net/cluster/node_fingerprint.hpp"
#include "net/openai/openai_service.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

ApiError model_not_found(const std::string& model, const std::string& served) {
  return ApiError(404, "the model '" + model + "' does not exist; this server serves '" + served + "'",
                  "model", "invalid_request_error", "model_not_found");
}

}  // namespace

void OpenAiService::check_model(const std::string& model) const {
  if (!model.empty() && model != options_.model_id) throw model_not_found(model, options_.model_id);
}

// max_model_len as vLLM lists it: prompt plus output at most, as requests are checked against.
OrderedJson OpenAiService::model_json() const {
  return {{"id", options_.model_id}, {"object", "model"},          {"created", created_},
          {"owned_by", "tessera"},   {"max_model_len", context_tokens_}};
}

void OpenAiService::respond_model(Responder& responder, const std::string& id) const {
  if (id != options_.model_id) throw model_not_found(id, options_.model_id);
  respond_json(responder, 200, model_json());
}

void OpenAiService::respond_models(Responder& responder) const {
  respond_json(responder, 200, {{"object", "list"}, {"data", OrderedJson::array({model_json()})}});
}

void OpenAiService::respond_version(Responder& responder) const {
  respond_json(responder, 200, {{"version", tessera_version()}});
}

// 503 while shutting down, and on a cluster head while it is degraded: which worker is missing
// and since when, so that a load balancer stops sending and an operator sees what to restart.
void OpenAiService::respond_health(Responder& responder) const {
  if (shutting_down_) {
    respond_json(responder, 503, {{"status", "shutting_down"}}, {{"Retry-After", kRetryAfterSeconds}});
    return;
  }
  const auto health = engine_.health();
  if (health.healthy) {
    respond_json(responder, 200, {{"status", "ok"}});
    return;
  }
  const auto now = actors::SystemClock::now();
  const auto seconds_since = [&](actors::SystemClock::time_point since) {
    return std::chrono::duration<double>(now - since).count();
  };
  OrderedJson missing = OrderedJson::array();
  for (const auto& worker : health.missing) {
    missing.push_back({{"worker_id", worker.worker_id},
                       {"name", worker.name},
                       {"since", actors::utc_text(worker.since)},
                       {"seconds", seconds_since(worker.since)},
                       {"reason", worker.reason}});
  }
  respond_json(responder, 503,
               {{"status", health.state},
                {"reason", health.reason},
                {"missing_workers", std::move(missing)},
                {"degraded_since", actors::utc_text(health.degraded_since)},
                {"degraded_seconds", seconds_since(health.degraded_since)}},
               {{"Retry-After", kRetryAfterSeconds}});
}

void OpenAiService::respond_metrics(Responder& responder) const {
  actors::EngineStats stats;
  try {
    stats = engine_.stats();
  } catch (const Error& e) {
    respond_error(responder, ApiError(503, e.what()));
    return;
  }
  responder.respond(200, "text/plain; version=0.0.4", metrics_.render(stats, engine_.health()));
}

}  // namespace tessera::net
