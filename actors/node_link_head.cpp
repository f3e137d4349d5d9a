#include <caf/all.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "actors/failure_message.hpp"
#include "actors/messages.hpp"
#include "actors/node_link.hpp"
#include "runtime/core/log.hpp"

namespace tessera::actors {
namespace {

struct HeadLinkState {
  HeadNodeLinkConfig config;
  std::uint64_t next_request = 0;
  std::unordered_map<std::uint64_t, caf::response_promise> outstanding;
  std::string lost;  // why the worker is gone; empty while it is there
  caf::actor listener;  // told of a loss (the scheduler), once it watches
  static inline const char* name = "tessera.head_node_link";
};

using HeadLinkActor = caf::stateful_actor<HeadLinkState>;

std::string worker_name(const HeadNodeLinkConfig& c) {
  std::string ranks = std::to_string(c.first_rank);
  if (c.ranks > 1) ranks = "s " + ranks + "-" + std::to_string(c.first_rank + c.ranks - 1);
  return "worker " + std::to_string(c.worker_id) + " (global rank" + (c.ranks > 1 ? "" : " ") +
         ranks + ")";
}

// The worker's failure as it said it (category and field kept), naming the worker.
caf::error link_error(HeadLinkActor* self, const Failure& failure) {
  return to_caf_error(failure.within(worker_name(self->state.config) + ": "));
}

// The worker is gone: the cluster, not the request, is at fault, and may recover.
caf::error lost_error(HeadLinkActor* self) {
  return link_error(self, {ErrorCategory::unavailable, {}, "lost: " + self->state.lost});
}

// The request whose answer arrived or failed, if nobody failed it already.
std::optional<caf::response_promise> take(HeadLinkActor* self, std::uint64_t id) {
  auto& outstanding = self->state.outstanding;
  const auto it = outstanding.find(id);
  if (it == outstanding.end()) return std::nullopt;
  auto promise = std::move(it->second);
  outstanding.erase(it);
  return promise;
}

// `timeout`: a std::chrono duration, or caf::infinite for step plans, whose deadline the
// scheduler keeps with one timer (a timed request costs a wake-up of CAF's clock per step).
template <class Reply, class Timeout, class... Ts>
caf::response_promise forward(HeadLinkActor* self, Timeout timeout, const Ts&... message) {
  auto promise = self->make_response_promise();
  auto& state = self->state;
  if (!state.lost.empty()) {
    promise.deliver(lost_error(self));
    return promise;
  }
  const auto id = state.next_request++;
  state.outstanding.emplace(id, promise);
  self->request(state.config.worker_link, timeout, message...)
      .then(
          [=](Reply& reply) {
            if (auto p = take(self, id)) p->deliver(std::move(reply));
          },
          [=](caf::error& error) {
            if (auto p = take(self, id)) p->deliver(link_error(self, failure_of(self->system(), error)));
          });
  return promise;
}

void tell_lost(HeadLinkActor* self) {
  const auto& state = self->state;
  if (!state.listener || state.lost.empty()) return;
  self->send(state.listener, mn_lost_atom::value, state.config.worker_id,
             worker_name(state.config), state.lost);
}

caf::behavior head_node_link(HeadLinkActor* self, HeadNodeLinkConfig config) {
  self->state.config = std::move(config);
  self->monitor(self->state.config.worker_link);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& state = self->state;
    // A replaced worker's link may report its end late; only the current one matters.
    if (down.source != state.config.worker_link.address()) return;
    state.lost = self->system().render(down.reason);
    logger().info("lost {}: {}", worker_name(state.config), state.lost);
    // The listener hears of the loss before any failed answer below: messages from one actor
    // to another arrive in order, so the scheduler knows which worker to blame for them.
    tell_lost(self);
    auto outstanding = std::move(state.outstanding);
    state.outstanding.clear();
    for (auto& [id, promise] : outstanding) promise.deliver(lost_error(self));
  });
  return {
      [=](mn_watch_atom, const caf::actor& listener) {
        self->state.listener = listener;
        tell_lost(self);  // lost before anyone watched
      },
      [=](mn_rebind_atom, const caf::actor& worker_link) {
        // The worker (restarted, or a replacement with the same id) joined again.
        auto& state = self->state;
        state.config.worker_link = worker_link;
        state.lost.clear();
        self->monitor(worker_link);
      },
      [=](regroup_atom, const std::string& prefix) {
        return forward<ShardReady>(self, self->state.config.start_timeout, regroup_atom::value,
                                   prefix);
      },
      [=](init_atom) {
        return forward<ShardReady>(self, self->state.config.start_timeout, init_atom::value);
      },
      [=](allocate_atom, std::int64_t blocks) {
        return forward<ShardReady>(self, self->state.config.start_timeout, allocate_atom::value,
                                   blocks);
      },
      [=](const StepPlan& plan) {
        return forward<ShardAck>(self, caf::infinite, plan);
      },
  };
}

}  // namespace

caf::actor spawn_head_node_link(caf::actor_system& system, HeadNodeLinkConfig config) {
  return system.spawn(head_node_link, std::move(config));
}

}  // namespace tessera::actors
