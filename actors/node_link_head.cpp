#include <caf/all.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>

#include "actors/messages.hpp"
#include "actors/node_link.hpp"

namespace tessera::actors {
namespace {

struct HeadLinkState {
  HeadNodeLinkConfig config;
  std::uint64_t next_request = 0;
  std::unordered_map<std::uint64_t, caf::response_promise> outstanding;
  std::string lost;  // why the worker is gone; empty while it is there
  static inline const char* name = "tessera.head_node_link";
};

using HeadLinkActor = caf::stateful_actor<HeadLinkState>;

std::string worker_name(const HeadNodeLinkConfig& c) {
  std::string ranks = std::to_string(c.first_rank);
  if (c.ranks > 1) ranks = "s " + ranks + "-" + std::to_string(c.first_rank + c.ranks - 1);
  return "worker " + std::to_string(c.worker_id) + " (global rank" + (c.ranks > 1 ? "" : " ") +
         ranks + ")";
}

caf::error link_error(HeadLinkActor* self, const std::string& what) {
  return caf::make_error(caf::sec::runtime_error, worker_name(self->state.config) + ": " + what);
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

template <class Reply, class... Ts>
caf::response_promise forward(HeadLinkActor* self, std::chrono::milliseconds timeout,
                              const Ts&... message) {
  auto promise = self->make_response_promise();
  auto& state = self->state;
  if (!state.lost.empty()) {
    promise.deliver(link_error(self, "lost: " + state.lost));
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
            if (auto p = take(self, id)) p->deliver(link_error(self, self->system().render(error)));
          });
  return promise;
}

caf::behavior head_node_link(HeadLinkActor* self, HeadNodeLinkConfig config) {
  self->state.config = std::move(config);
  self->monitor(self->state.config.worker_link);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& state = self->state;
    if (down.source != state.config.worker_link.address()) return;
    state.lost = self->system().render(down.reason);
    std::fprintf(stderr, "tessera: lost %s: %s\n", worker_name(state.config).c_str(),
                 state.lost.c_str());
    auto outstanding = std::move(state.outstanding);
    state.outstanding.clear();
    for (auto& [id, promise] : outstanding) promise.deliver(link_error(self, "lost: " + state.lost));
  });
  return {
      [=](init_atom) {
        return forward<ShardReady>(self, self->state.config.start_timeout, init_atom::value);
      },
      [=](allocate_atom, std::int64_t blocks) {
        return forward<ShardReady>(self, self->state.config.start_timeout, allocate_atom::value,
                                   blocks);
      },
      [=](const StepPlan& plan) {
        return forward<ShardAck>(self, self->state.config.step_timeout, plan);
      },
  };
}

}  // namespace

caf::actor spawn_head_node_link(caf::actor_system& system, HeadNodeLinkConfig config) {
  return system.spawn(head_node_link, std::move(config));
}

}  // namespace tessera::actors
