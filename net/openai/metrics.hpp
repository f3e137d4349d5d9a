#pragma once
// What GET /metrics reports, in Prometheus' text format: request outcomes and token counts kept
// here as requests finish, latency histograms, and the engine's queue and KV-cache gauges read
// when the page is asked for. Thread-safe.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "actors/cluster_health.hpp"
#include "actors/message_data.hpp"

namespace tessera::net {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Appends the _bucket, _sum and _count lines of `name`.
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> upper_bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; the last one is +Inf
  double sum_ = 0.0;
  std::uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();

  void request_finished(const std::string& finish_reason, std::int64_t prompt_tokens,
                        std::int64_t completion_tokens);
  void first_token(double seconds_since_arrival) { time_to_first_token_.observe(seconds_since_arrival); }
  void output_tokens(double seconds, std::int64_t tokens);  // a gap between two token events
  void stream_opened() { ++active_streams_; }
  void stream_closed() { --active_streams_; }

  // `health`: a cluster head's (always healthy on a single node).
  std::string render(const actors::EngineStats& engine, const actors::ClusterHealth& health = {}) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> requests_by_finish_reason_;
  std::uint64_t prompt_tokens_ = 0;
  std::uint64_t generation_tokens_ = 0;
  std::atomic<std::int64_t> active_streams_{0};
  Histogram time_to_first_token_;
  Histogram time_per_output_token_;
};

}  // namespace tessera::net
