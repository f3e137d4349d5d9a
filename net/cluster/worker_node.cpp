#include "net/cluster/worker_node.hpp"

#include <caf/all.hpp>
#include <cstdio>
#include <string>

#include "actors/node_link.hpp"
#include "actors/shard_actor.hpp"
#include "net/cluster/cluster_messages.hpp"
#include "net/cluster/cluster_system.hpp"
#include "net/cluster/node_fingerprint.hpp"
#include "net/cluster/remote_store.hpp"
#include "net/cluster/rendezvous_actor.hpp"
#include "runtime/core/error.hpp"

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

JoinAccepted join(caf::scoped_actor& self, const caf::actor& head, const JoinRequest& request,
                  const caf::actor& link, const ClusterConfig& cluster) {
  JoinAccepted accepted;
  std::string refusal;
  self->request(head, cluster.join_timeout, mn_join_atom::value, request, link)
      .receive([&](JoinAccepted& a) { accepted = std::move(a); },
               [&](caf::error& error) {
                 refusal = error == caf::sec::request_timeout
                               ? "the cluster did not form within " +
                                     std::to_string(cluster.join_timeout.count()) +
                                     " ms (other workers missing?)"
                               : error_text(self->system(), error);
               });
  if (!refusal.empty()) {
    throw Error(ErrorCategory::invalid_argument,
                "the head refused worker " + std::to_string(cluster.worker_id) + ": " + refusal);
  }
  return accepted;
}

}  // namespace

void run_worker(const actors::EngineConfig& engine, const ClusterConfig& cluster) {
  JoinRequest request;
  request.secret = cluster.secret;
  request.worker_id = cluster.worker_id;
  request.fingerprint = make_fingerprint(engine.model_dir, std::string(actors::to_string(engine.device)));
  request.local_ranks = engine.tensor_parallel;
  request.global_world_size = cluster.global_world_size;

  caf::actor_system_config cfg;
  configure_cluster_system(cfg, cluster);
  if (engine.actor_threads > 0) cfg.set("scheduler.max-threads", engine.actor_threads);
  caf::actor_system system{cfg};
  std::vector<caf::actor> actors;
  StopActors stop{actors};

  const caf::actor head = connect_to_head(system, cluster);
  std::fprintf(stderr, "tessera: worker %d reached the head at %s:%u; joining (%s)\n",
               cluster.worker_id, cluster.head_host.c_str(),
               static_cast<unsigned>(cluster.head_server_port), describe(request.fingerprint).c_str());
  const caf::actor link = actors::spawn_worker_node_link(
      system, actors::WorkerNodeLinkConfig{engine.start_timeout, engine.step_timeout});
  actors.push_back(link);
  caf::scoped_actor self{system};
  self->monitor(head);
  const JoinAccepted accepted = join(self, head, request, link, cluster);

  // The local shards hold global ranks; their Gloo group is the whole cluster's.
  auto store = std::make_shared<RemoteStore>(system, accepted.store, engine.start_timeout);
  std::vector<caf::actor> shards;
  for (int i = 0; i < engine.tensor_parallel; ++i) {
    actors::ShardConfig shard;
    shard.model_dir = engine.model_dir;
    shard.rank = accepted.first_rank + i;
    shard.world_size = accepted.global_world_size;
    shard.device = engine.device;
    shard.gpu_memory_utilization = engine.gpu_memory_utilization;
    shard.kv_memory_bytes = engine.kv_memory_bytes;
    shard.block_size = engine.block_size;
    shard.store = store;
    shards.push_back(actors::spawn_shard(system, std::move(shard)));
    actors.push_back(shards.back());
  }
  caf::anon_send(link, std::move(shards));
  const int last_rank = accepted.first_rank + engine.tensor_parallel - 1;
  const std::string ranks = engine.tensor_parallel == 1
                                ? "rank " + std::to_string(last_rank)
                                : "ranks " + std::to_string(accepted.first_rank) + "-" +
                                      std::to_string(last_rank);
  std::fprintf(stderr, "tessera: worker %d joined as global %s of %d\n", cluster.worker_id,
               ranks.c_str(), accepted.global_world_size);

  self->receive([&](const caf::down_msg& down) {
    std::fprintf(stderr, "tessera: the head went away (%s); worker %d stops\n",
                 system.render(down.reason).c_str(), cluster.worker_id);
  });
}

}  // namespace tessera::net
