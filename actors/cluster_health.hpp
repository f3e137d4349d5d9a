#pragma once
// Whether a cluster head can serve right now, as the scheduler sees it: healthy, or degraded
// (a worker is missing, or a failed step left the group to be re-formed) and since when. The
// scheduler writes it, any thread reads it (Engine::health, the HTTP /health route), so it lives
// behind a mutex instead of behind an actor request.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::actors {

using SystemClock = std::chrono::system_clock;

struct MissingWorker {
  std::int32_t worker_id = 0;
  std::string name;    // "worker 0 (global rank 1)"
  std::string reason;  // how it was lost, as CAF reported it
  SystemClock::time_point since;
};

struct ClusterHealth {
  bool healthy = true;
  // "ok"; "degraded": waiting for a missing worker or for the group to settle; "re-forming": every
  // worker is back and the ranks are building a new communicator.
  std::string state = "ok";
  std::string reason;  // why not healthy, naming the missing workers
  std::vector<MissingWorker> missing;
  SystemClock::time_point degraded_since;  // when healthy last ended
  std::int64_t reformations = 0;           // how often the group re-formed since start
};

// How the message of a request begins that failed because the cluster could not serve it (a
// lost worker, no re-forming within the recovery timeout), for people to read. What the HTTP
// layer acts on (503, retry) is the failure's category, ErrorCategory::unavailable.
inline constexpr std::string_view kClusterUnavailable = "the cluster is unavailable: ";

// "2025-06-01T12:34:56Z", for messages and /health.
inline std::string utc_text(SystemClock::time_point when) {
  const std::time_t seconds = SystemClock::to_time_t(when);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

class HealthBoard {
 public:
  ClusterHealth get() const {
    std::lock_guard lock(mutex_);
    return health_;
  }
  void set(ClusterHealth health) {
    std::lock_guard lock(mutex_);
    health_ = std::move(health);
  }

 private:
  mutable std::mutex mutex_;
  ClusterHealth health_;
};

}  // namespace tessera::actors
