#include "net/openai/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace tessera::net {
namespace {

std::string number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", x);
  return text;
}

void header(std::string& out, const std::string& name, const char* type, const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void gauge(std::string& out, const std::string& name, const std::string& help, double value) {
  header(out, name, "gauge", help);
  out += name + " " + number(value) + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  header(out, name, "histogram", help);
  std::lock_guard lock(mutex_);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < upper_bounds_.size() ? number(upper_bounds_[i]) : "+Inf";
    out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics()
    : time_to_first_token_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
                            2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}),
      time_per_output_token_({0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
                              0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}) {
  for (const char* reason : {"stop", "length", "cancelled", "error"}) requests_by_finish_reason_[reason] = 0;
}

void ServerMetrics::request_finished(const std::string& finish_reason, std::int64_t prompt_tokens,
                                     std::int64_t completion_tokens) {
  std::lock_guard lock(mutex_);
  ++requests_by_finish_reason_[finish_reason];
  prompt_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(prompt_tokens, 0));
  generation_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(completion_tokens, 0));
}

void ServerMetrics::output_tokens(double seconds, std::int64_t tokens) {
  if (tokens <= 0) return;
  const double per_token = seconds / static_cast<double>(tokens);
  for (std::int64_t i = 0; i < tokens; ++i) time_per_output_token_.observe(per_token);
}

std::string ServerMetrics::render(const actors::EngineStats& engine,
                                  const actors::ClusterHealth& health) const {
  std::string out;
  {
    std::lock_guard lock(mutex_);
    header(out, "tessera_requests_total", "counter", "Requests finished, by finish reason");
    for (const auto& [reason, count] : requests_by_finish_reason_) {
      out += "tessera_requests_total{finish_reason=\"" + reason + "\"} " + std::to_string(count) + "\n";
    }
    header(out, "tessera_prompt_tokens_total", "counter", "Prompt tokens of finished requests");
    out += "tessera_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
    header(out, "tessera_generation_tokens_total", "counter", "Tokens generated for finished requests");
    out += "tessera_generation_tokens_total " + std::to_string(generation_tokens_) + "\n";
  }
  gauge(out, "tessera_queue_depth", "Requests waiting for a place in the running batch",
        static_cast<double>(engine.waiting));
  gauge(out, "tessera_running_sequences", "Sequences in the running batch",
        static_cast<double>(engine.running));
  gauge(out, "tessera_kv_blocks_used", "KV-cache blocks in use",
        static_cast<double>(engine.total_blocks - engine.free_blocks));
  gauge(out, "tessera_kv_blocks_total", "KV-cache blocks in the pool",
        static_cast<double>(engine.total_blocks));
  gauge(out, "tessera_active_streams", "Streaming responses being written",
        static_cast<double>(active_streams_.load()));
  gauge(out, "tessera_cluster_healthy",
        "1 while every rank can serve; 0 while a cluster head is degraded or re-forming",
        health.healthy ? 1.0 : 0.0);
  gauge(out, "tessera_cluster_missing_workers", "Workers a cluster head waits for to join again",
        static_cast<double>(health.missing.size()));
  header(out, "tessera_cluster_reformations_total", "counter",
         "Times a cluster head re-formed its group after losing a worker");
  out += "tessera_cluster_reformations_total " + std::to_string(health.reformations) + "\n";
  time_to_first_token_.render(out, "tessera_time_to_first_token_seconds",
                              "From a request's arrival to its first generated token");
  time_per_output_token_.render(out, "tessera_time_per_output_token_seconds",
                                "Time between generated tokens of a request");
  return out;
}

}  // namespace tessera::net
