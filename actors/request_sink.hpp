#pragma once
// Where one request's events go: the client's callbacks and a waitable final event. Shared by
// the engine (which may end a request itself, at validation or shutdown), the sampler (which
// delivers events) and the client's RequestHandle. The final event is delivered exactly once.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "actors/request.hpp"

namespace tessera::actors {

class RequestSink {
 public:
  using TokenCallback = std::function<void(const TokenEvent&)>;
  using FinalCallback = std::function<void(const FinalEvent&)>;

  RequestSink(std::uint64_t id, TokenCallback on_token, FinalCallback on_final);

  std::uint64_t id() const { return id_; }
  // Ignored once the request has finished. A throwing callback is logged and
  // swallowed: a client's bug must not take the sampler down with it.
  void token(const TokenEvent& event);
  // Delivers the final event unless one was delivered already; returns whether this one was.
  bool finish(FinalEvent event);
  bool finished() const;

  FinalEvent wait() const;
  std::optional<FinalEvent> wait_for(std::chrono::nanoseconds timeout) const;

  // Called after the final event (the engine forgets the request there).
  void set_on_done(std::function<void(std::uint64_t)> on_done);

 private:
  const std::uint64_t id_;
  TokenCallback on_token_;
  FinalCallback on_final_;
  std::function<void(std::uint64_t)> on_done_;
  mutable std::mutex mutex_;
  mutable std::condition_variable done_cv_;
  std::optional<FinalEvent> final_;
  bool finishing_ = false;
};

}  // namespace tessera::actors
