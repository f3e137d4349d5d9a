#include "net/cluster/worker_node.hpp"

#include <caf/all.hpp>
#include <string>

#include "actors/node_link.hpp"
#include "actors/shard_actor.hpp"
#include "actors/shard_configs.hpp"
#include "net/cluster/cluster_messages.hpp"
#include "net/cluster/cluster_system.hpp"
#include "net/cluster/node_fingerprint.hpp"
#include "net/cluster/node_store.hpp"
#include "net/cluster/remote_store.hpp"
#include "net/cluster/rendezvous_actor.hpp"
#include "net/cluster/teardown_deadline.hpp"
#include "runtime/core/error.hpp"
#include "runtime/parallel/parallel_layout.hpp"
#include "runtime/core/log.hpp"

namespace tessera::net {
namespace {

// Stops the worker's actors before the actor system is destroyed (an actor still alive then
// would hang its destructor), whichever way run_worker leaves.
struct StopActors {
  std::vector<caf::actor>& actors;
  ~StopActors() {
    for (auto& actor : actors) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
};

// The head's answer to `request`, or its end, whichever comes first: CAF does not fail a request
// pending on a node that died, so a helper actor monitors the head while the worker waits (a
// worker whose head dies while it waits for the others must not wait out its join timeout).
caf::actor spawn_joiner(caf::actor_system& system, caf::actor head, JoinRequest request,
                        caf::actor link, std::chrono::milliseconds timeout) {
  return system.spawn([=](caf::event_based_actor* joiner) -> caf::behavior {
    return {
        [=](mn_join_atom) -> caf::result<JoinAccepted> {
          auto promise = joiner->make_response_promise<JoinAccepted>();
          // Shared by the handlers below (CAF calls them as const); the first answer counts.
          auto answer = std::make_shared<caf::typed_response_promise<JoinAccepted>>(promise);
          joiner->monitor(head);
          joiner->set_down_handler([=](caf::down_msg& down) {
            answer->deliver(caf::make_error(
                caf::sec::request_receiver_down,
                "the head went away while this worker waited to join (" +
                    joiner->system().render(down.reason) + ")"));
            joiner->quit();
          });
          joiner->request(head, timeout, mn_join_atom::value, request, link)
              .then(
                  [=](JoinAccepted& accepted) {
                    answer->deliver(std::move(accepted));
                    joiner->quit();
                  },
                  [=](caf::error& error) {
                    answer->deliver(std::move(error));
                    joiner->quit();
                  });
          return promise;
        },
    };
  });
}

JoinAccepted join(caf::scoped_actor& self, const caf::actor& head, const JoinRequest& request,
                  const caf::actor& link, const ClusterConfig& cluster) {
  JoinAccepted accepted;
  std::string refusal;
  std::string gone;
  const auto joiner = spawn_joiner(self->system(), head, request, link, cluster.join_timeout);
  // The joiner answers within the join timeout; the margin only guards against a lost answer.
  self->request(joiner, cluster.join_timeout + std::chrono::seconds(5), mn_join_atom::value)
      .receive([&](JoinAccepted& a) { accepted = std::move(a); },
               [&](caf::error& error) {
                 if (error == caf::sec::request_receiver_down) {
                   gone = error_text(self->system(), error);
                   return;
                 }
                 refusal = error == caf::sec::request_timeout
                               ? "the cluster did not form within " +
                                     std::to_string(cluster.join_timeout.count()) +
                                     " ms (other workers missing?)"
                               : error_text(self->system(), error);
               });
  caf::anon_send_exit(joiner, caf::exit_reason::user_shutdown);
  if (!gone.empty()) {
    throw Error(ErrorCategory::io, "worker " + std::to_string(cluster.worker_id) + ": " + gone);
  }
  if (!refusal.empty()) {
    throw Error(ErrorCategory::invalid_argument,
                "the head refused worker " + std::to_string(cluster.worker_id) + ": " + refusal);
  }
  return accepted;
}

// Joins the head and serves until the head goes away; throws when the worker cannot join.
void serve_as_worker(caf::actor_system& system, const actors::EngineConfig& engine,
                     const ClusterConfig& cluster) {
  JoinRequest request;
  request.secret = cluster.secret;
  request.worker_id = cluster.worker_id;
  request.fingerprint = make_fingerprint(engine.model_dir, std::string(actors::to_string(engine.device)));
  request.local_ranks = engine.tensor_parallel;
  request.global_world_size = cluster.global_world_size;

  std::vector<caf::actor> actors;
  StopActors stop{actors};

  const caf::actor head = connect_to_head(system, cluster);
  logger().info("worker {} reached the head at {}:{}; joining ({})", cluster.worker_id,
                cluster.head_host, static_cast<unsigned>(cluster.head_server_port),
                describe(request.fingerprint));
  const caf::actor link = actors::spawn_worker_node_link(
      system, actors::WorkerNodeLinkConfig{engine.start_timeout});
  actors.push_back(link);
  caf::scoped_actor self{system};
  self->monitor(head);
  const JoinAccepted accepted = join(self, head, request, link, cluster);

  // The local shards hold global ranks of the head's layout; their Gloo group is the whole
  // cluster's. The layout's numbers came from another process: the constructor checks them.
  actors::ShardGroup group;
  group.layout =
      runtime::ParallelLayout(accepted.layout_tp, accepted.layout_pp, accepted.layout_ep);
  group.first_rank = accepted.first_rank;
  group.store = make_worker_store(system, accepted.store, engine.start_timeout, cluster);
  group.seed_base = accepted.seed_base;
  std::vector<caf::actor> shards;
  for (auto& shard : actors::make_shard_configs(engine, engine.device, group)) {
    shards.push_back(actors::spawn_shard(system, std::move(shard)));
    actors.push_back(shards.back());
  }
  caf::anon_send(link, std::move(shards));
  const int last_rank = accepted.first_rank + engine.tensor_parallel - 1;
  const std::string ranks = engine.tensor_parallel == 1
                                ? "rank " + std::to_string(last_rank)
                                : "ranks " + std::to_string(accepted.first_rank) + "-" +
                                      std::to_string(last_rank);
  logger().info("worker {} joined as global {} of {}", cluster.worker_id, ranks,
                group.layout.world_size());

  self->receive([&](const caf::down_msg& down) {
    logger().info("the head went away or dropped this worker ({}); worker {} stops (start it "
                  "again to rejoin)",
                  system.render(down.reason), cluster.worker_id);
  });
}

}  // namespace

void run_worker(const actors::EngineConfig& engine, const ClusterConfig& cluster) {
  caf::actor_system_config cfg;
  configure_cluster_system(cfg, cluster);
  if (engine.actor_threads > 0) cfg.set("scheduler.max-threads", engine.actor_threads);
  caf::actor_system system{cfg};
  // A worker that stops has nothing to save, so its teardown gets only a moment: a shard inside a
  // collective with a frozen peer would hold it until the Gloo timeout, and a connection to a head
  // that never finished its handshake can hold CAF's middleman indefinitely.
  constexpr std::chrono::seconds grace{5};
  try {
    serve_as_worker(system, engine, cluster);
  } catch (const Error& error) {
    // Printed here only if the teardown hangs; otherwise main prints it once the system is gone.
    exit_if_teardown_outlasts(grace, 1,
                              std::string(to_string(error.category())) + " error: " + error.what());
    throw;
  } catch (...) {
    exit_if_teardown_outlasts(grace, 1, "worker " + std::to_string(cluster.worker_id) + " failed");
    throw;
  }
  exit_if_teardown_outlasts(grace, 1, "worker " + std::to_string(cluster.worker_id) +
                                          ": a rank is still busy in a collective");
}

}  // namespace tessera::net
