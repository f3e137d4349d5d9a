#pragma once
// The scheduler's step timeout with one timer in all. CAF 0.17 files every request's timeout
// with its clock thread (waking it) and keeps the event until it expires, answered or not: with
// step_timeout on each step's requests that was a context switch per step, and at thousands of
// steps a second millions of pending events. So steps are requested without a timeout, and one
// delayed message, armed when a step starts while none is pending, checks the step in flight
// when it fires: failed if it has run for the whole timeout, else the timer waits out the rest.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace tessera::actors {

class StepWatch {
 public:
  using Clock = std::chrono::steady_clock;
  using Ids = std::shared_ptr<const std::vector<std::uint64_t>>;

  explicit StepWatch(Clock::duration timeout = std::chrono::minutes(5)) : timeout_(timeout) {}

  // A step was sent to the ranks: the delay to arm the timer with, or none while it is armed.
  std::optional<Clock::duration> started(std::uint64_t step, Ids ids, Clock::time_point now) {
    in_flight_ = InFlight{step, std::move(ids), now};
    if (armed_) return std::nullopt;
    armed_ = true;
    return timeout_;
  }
  // The driver answered (or failed) the step; false when it is not in flight any more (the
  // timeout failed it already), and the answer must change nothing.
  bool end(std::uint64_t step) {
    if (!in_flight_ || in_flight_->step != step) return false;
    in_flight_.reset();
    return true;
  }

  struct Overrun {
    std::uint64_t step = 0;
    Ids ids;  // the step's sequences
  };
  struct Fired {
    std::optional<Overrun> overrun;         // in flight for the whole timeout: fail it
    std::optional<Clock::duration> rearm;  // the step in flight has this long left
  };
  // The timer fired.
  Fired fired(Clock::time_point now) {
    armed_ = false;
    if (!in_flight_) return {};
    const auto deadline = in_flight_->started + timeout_;
    if (now >= deadline) {
      Fired out{Overrun{in_flight_->step, std::move(in_flight_->ids)}, std::nullopt};
      in_flight_.reset();
      return out;
    }
    armed_ = true;
    return {std::nullopt, deadline - now};
  }

 private:
  struct InFlight {
    std::uint64_t step = 0;
    Ids ids;
    Clock::time_point started;
  };
  Clock::duration timeout_;
  std::optional<InFlight> in_flight_;
  bool armed_ = false;
};

}  // namespace tessera::actors
