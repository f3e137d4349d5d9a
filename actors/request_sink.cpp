#include "actors/request_sink.hpp"

#include <exception>

#include "runtime/core/log.hpp"

namespace tessera::actors {

RequestSink::RequestSink(std::uint64_t id, TokenCallback on_token, FinalCallback on_final)
    : id_(id), on_token_(std::move(on_token)), on_final_(std::move(on_final)) {}

void RequestSink::token(const TokenEvent& event) {
  {
    std::lock_guard lock(mutex_);
    if (finishing_) return;
  }
  if (!on_token_) return;
  try {
    on_token_(event);
  } catch (const std::exception& e) {
    logger().error("on_token callback of request {} threw: {}", id_, e.what());
  }
}

bool RequestSink::finish(FinalEvent event) {
  {
    std::lock_guard lock(mutex_);
    if (finishing_) return false;
    finishing_ = true;  // claims delivery; the callback runs outside the lock
  }
  event.request_id = id_;
  if (on_final_) {
    try {
      on_final_(event);
    } catch (const std::exception& e) {
      logger().error("on_final callback of request {} threw: {}", id_, e.what());
    }
  }
  std::function<void(std::uint64_t)> on_done;
  {
    std::lock_guard lock(mutex_);
    final_ = std::move(event);
    on_done = std::move(on_done_);
  }
  done_cv_.notify_all();
  if (on_done) on_done(id_);
  return true;
}

bool RequestSink::finished() const {
  std::lock_guard lock(mutex_);
  return final_.has_value();
}

FinalEvent RequestSink::wait() const {
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return final_.has_value(); });
  return *final_;
}

std::optional<FinalEvent> RequestSink::wait_for(std::chrono::nanoseconds timeout) const {
  std::unique_lock lock(mutex_);
  if (!done_cv_.wait_for(lock, timeout, [&] { return final_.has_value(); })) return std::nullopt;
  return final_;
}

void RequestSink::set_on_done(std::function<void(std::uint64_t)> on_done) {
  std::lock_guard lock(mutex_);
  on_done_ = std::move(on_done);
}

}  // namespace tessera::actors
