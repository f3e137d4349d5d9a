#include "net/cluster/rendezvous_actor.hpp"

#include <caf/all.hpp>
#include <map>
#include <optional>

#include "actors/node_link.hpp"
#include "net/cluster/cluster_messages.hpp"
#include "runtime/core/log.hpp"

namespace tessera::net {
namespace {

struct Pending {
  caf::typed_response_promise<JoinAccepted> promise;
  caf::actor worker_link;
};

struct RendezvousState {
  RendezvousConfig config;
  std::optional<Admission> admission;
  std::map<int, Pending> pending;                 // admitted, awaiting the others
  std::optional<std::vector<caf::actor>> links;   // once formed
  // Once formed, per worker id: the head node link, and the worker's own link while it is in.
  std::map<int, caf::actor> head_links;
  std::map<int, caf::actor> worker_links;
  caf::actor listener;  // the scheduler: told when every lost worker is back
  std::vector<caf::typed_response_promise<std::vector<caf::actor>>> link_waiters;
  std::string last_refusal;
  static inline const char* name = "tessera.rendezvous";
};

using RendezvousActor = caf::stateful_actor<RendezvousState>;

std::string rank_text(const RankRange& range) {
  if (range.ranks == 1) return "global rank " + std::to_string(range.first_rank);
  return "global ranks " + std::to_string(range.first_rank) + "-" +
         std::to_string(range.first_rank + range.ranks - 1);
}

// What a worker's shards need to match the head's (actors/shard_configs.hpp).
JoinAccepted accepted(const RendezvousConfig& config, const RankRange& range) {
  JoinAccepted answer;
  answer.first_rank = range.first_rank;
  answer.layout_tp = config.layout.tp();
  answer.layout_pp = config.layout.pp();
  answer.layout_ep = config.layout.ep();
  answer.store = config.store;
  answer.seed_base = config.seed_base;
  return answer;
}

// Every worker is in: links for the scheduler, ranks and the store for the workers.
void form(RendezvousActor* self) {
  auto& state = self->state;
  std::vector<caf::actor> links;
  for (const auto& range : state.admission->assign()) {
    auto& pending = state.pending.at(range.worker_id);
    actors::HeadNodeLinkConfig link;
    link.worker_link = pending.worker_link;
    link.worker_id = range.worker_id;
    link.first_rank = range.first_rank;
    link.ranks = range.ranks;
    link.start_timeout = state.config.start_timeout;
    links.push_back(actors::spawn_head_node_link(self->system(), link));
    state.head_links[range.worker_id] = links.back();
    state.worker_links[range.worker_id] = pending.worker_link;
    logger().info("worker {} joined as {}", range.worker_id, rank_text(range));
    pending.promise.deliver(accepted(state.config, range));
  }
  state.pending.clear();
  state.links = std::move(links);
  for (auto& waiter : state.link_waiters) waiter.deliver(*state.links);
  state.link_waiters.clear();
}

// Every lost worker is back (restarted, or a replacement with the same id and rank count): its
// head node link forwards to the new process from now on, and the scheduler re-forms the group.
void reform(RendezvousActor* self) {
  auto& state = self->state;
  for (const auto& range : state.admission->assign()) {
    const auto it = state.pending.find(range.worker_id);
    if (it == state.pending.end()) continue;
    // Sent before mn_back below, and both are local: the link is rebound before the scheduler's
    // regroup can reach it.
    self->send(state.head_links.at(range.worker_id), actors::mn_rebind_atom::value,
               it->second.worker_link);
    state.worker_links[range.worker_id] = it->second.worker_link;
    logger().info("worker {} rejoined as {}", range.worker_id, rank_text(range));
    it->second.promise.deliver(accepted(state.config, range));
  }
  state.pending.clear();
  if (state.listener) self->send(state.listener, actors::mn_back_atom::value);
}

caf::error refuse(RendezvousActor* self, int worker_id, const std::string& reason) {
  logger().info("refused worker {}: {}", worker_id, reason);
  self->state.last_refusal = reason;
  return caf::make_error(caf::sec::runtime_error, reason);
}

caf::behavior rendezvous(RendezvousActor* self, RendezvousConfig config) {
  self->state.admission.emplace(config.rules);
  self->state.config = std::move(config);
  // A worker gone frees its id for a replacement: before the cluster formed (or re-formed), and
  // after, when the head waits for it to come back.
  self->set_down_handler([self](caf::down_msg& down) {
    auto& state = self->state;
    for (auto it = state.pending.begin(); it != state.pending.end(); ++it) {
      if (it->second.worker_link.address() != down.source) continue;
      logger().info("worker {} left before the cluster {}", it->first,
                    state.links ? "re-formed" : "formed");
      state.admission->withdraw(it->first);
      state.pending.erase(it);
      return;
    }
    for (auto it = state.worker_links.begin(); it != state.worker_links.end(); ++it) {
      if (it->second.address() != down.source) continue;
      logger().info("waiting for worker {} (restarted, or a replacement with the same id) to join "
                    "again",
                    it->first);
      state.admission->withdraw(it->first);
      state.worker_links.erase(it);
      return;
    }
  });
  return {
      [=](mn_join_atom, const JoinRequest& request,
          const caf::actor& worker_link) -> caf::result<JoinAccepted> {
        auto& state = self->state;
        if (!worker_link) return refuse(self, request.worker_id, "the worker sent no node link");
        if (auto reason = state.admission->admit(request); !reason.empty()) {
          return refuse(self, request.worker_id, reason);
        }
        logger().info("worker {} admitted ({} rank(s)); {}", request.worker_id, request.local_ranks,
                      state.admission->status());
        auto promise = self->make_response_promise<JoinAccepted>();
        self->monitor(worker_link);
        state.pending.emplace(request.worker_id, Pending{promise, worker_link});
        if (state.admission->complete()) {
          if (state.links) {
            reform(self);
          } else {
            form(self);
          }
        }
        return promise;
      },
      [=](actors::mn_watch_atom, const caf::actor& listener) {
        self->state.listener = listener;
        for (const auto& [id, link] : self->state.head_links) {
          self->send(link, actors::mn_watch_atom::value, listener);
        }
      },
      [=](mn_workers_atom) -> caf::result<std::vector<caf::actor>> {
        auto& state = self->state;
        if (state.links) return *state.links;
        auto promise = self->make_response_promise<std::vector<caf::actor>>();
        state.link_waiters.push_back(promise);
        return promise;
      },
      [=](mn_status_atom) {
        const auto& state = self->state;
        std::string status = state.admission->status();
        if (!state.last_refusal.empty()) status += "; last refusal: " + state.last_refusal;
        return status;
      },
  };
}

}  // namespace

caf::actor spawn_rendezvous(caf::actor_system& system, RendezvousConfig config) {
  return system.spawn(rendezvous, std::move(config));
}

std::string error_text(caf::actor_system& system, const caf::error& error) {
  const auto& context = error.context();
  if (error.category() == caf::atom("system") && context.match_elements<std::string>()) {
    return context.get_as<std::string>(0);
  }
  return system.render(error);
}

}  // namespace tessera::net
