#include <caf/all.hpp>
#include <algorithm>
#include <memory>
#include <optional>

#include "actors/failure_message.hpp"
#include "actors/messages.hpp"
#include "actors/node_link.hpp"

namespace tessera::actors {
namespace {

struct WorkerLinkState {
  WorkerNodeLinkConfig config;
  std::vector<caf::actor> shards;  // rank order
  static inline const char* name = "tessera.worker_node_link";
};

using WorkerLinkActor = caf::stateful_actor<WorkerLinkState>;

// Every local shard's answer to one message, in rank order: its reply, or how it failed.
template <class Reply>
struct Gathered {
  std::vector<std::optional<Reply>> replies;
  std::vector<std::optional<Failure>> failed;
  std::size_t left = 0;

  // What failed, as one failure: "rank 2: …; rank 3: …", the lowest rank's category and field.
  std::optional<Failure> failures() const {
    std::optional<Failure> all;
    for (const auto& failure : failed) {
      if (failure) add_failure(all, *failure);
    }
    return all;
  }
};

// Sends `message` to every local shard and, once all answered, hands what came back to `finish`.
// `timeout`: as in the head's forward (caf::infinite for step plans: the head keeps the deadline).
template <class Reply, class Timeout, class Finish>
void fan_out(WorkerLinkActor* self, Timeout timeout, const caf::message& message, Finish finish) {
  const auto& shards = self->state.shards;
  auto gathered = std::make_shared<Gathered<Reply>>();
  gathered->replies.resize(shards.size());
  gathered->failed.resize(shards.size());
  gathered->left = shards.size();
  // Shared by every reply handler; the last one to arrive calls it (it delivers a promise, which
  // is not const).
  auto finish_once = std::make_shared<Finish>(std::move(finish));
  for (std::size_t i = 0; i < shards.size(); ++i) {
    auto done = [=] {
      if (--gathered->left == 0) (*finish_once)(*gathered);
    };
    self->request(shards[i], timeout, message)
        .then(
            [=](Reply& reply) {
              gathered->replies[i] = std::move(reply);
              done();
            },
            [=](caf::error& error) {
              gathered->failed[i] = failure_of(self->system(), error);
              done();
            });
  }
}

// init and allocate: the rank with the least room speaks for the node (the engine sizes every
// rank's pool by the tightest one).
caf::response_promise gather_ready(WorkerLinkActor* self, caf::message message) {
  auto promise = self->make_response_promise();
  fan_out<ShardReady>(self, self->state.config.start_timeout, message,
                      [promise](Gathered<ShardReady>& gathered) mutable {
                        if (auto failures = gathered.failures()) {
                          promise.deliver(to_caf_error(std::move(*failures)));
                          return;
                        }
                        const auto tightest = std::min_element(
                            gathered.replies.begin(), gathered.replies.end(),
                            [](const auto& a, const auto& b) {
                              return a->kv_capacity_blocks < b->kv_capacity_blocks;
                            });
                        promise.deliver(**tightest);
                      });
  return promise;
}

caf::response_promise gather_acks(WorkerLinkActor* self, const StepPlan& plan) {
  auto promise = self->make_response_promise();
  const std::uint64_t step = plan.step;
  fan_out<ShardAck>(self, caf::infinite, caf::make_message(plan),
                    [promise, step](Gathered<ShardAck>& gathered) mutable {
                      auto failures = gathered.failures();  // ranks that did not answer
                      for (const auto& reply : gathered.replies) {
                        if (reply && !reply->healthy) add_failure(failures, reply->failure);
                      }
                      ShardAck ack{step, gathered.replies.front() ? gathered.replies.front()->rank : 0,
                                   !failures, failures.value_or(Failure{})};
                      promise.deliver(std::move(ack));
                    });
  return promise;
}

caf::behavior serving(WorkerLinkActor* self) {
  return {
      [=](init_atom) { return gather_ready(self, caf::make_message(init_atom::value)); },
      [=](allocate_atom, std::int64_t blocks) {
        return gather_ready(self, caf::make_message(allocate_atom::value, blocks));
      },
      [=](const StepPlan& plan) { return gather_acks(self, plan); },
      [=](regroup_atom, const std::string& prefix) {
        return gather_ready(self, caf::make_message(regroup_atom::value, prefix));
      },
  };
}

caf::behavior worker_node_link(WorkerLinkActor* self, WorkerNodeLinkConfig config) {
  self->state.config = config;
  // Until the shards exist, the head's first messages wait in the mailbox instead of failing.
  self->set_default_handler(caf::skip);
  return {
      [=](std::vector<caf::actor>& shards) {
        self->state.shards = std::move(shards);
        self->set_default_handler(caf::print_and_drop);
        self->become(serving(self));
      },
  };
}

}  // namespace

caf::actor spawn_worker_node_link(caf::actor_system& system, WorkerNodeLinkConfig config) {
  return system.spawn(worker_node_link, config);
}

}  // namespace tessera::actors
