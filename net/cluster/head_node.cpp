#include "net/cluster/head_node.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "net/cluster/cluster_system.hpp"
#include "net/cluster/node_fingerprint.hpp"
#include "net/cluster/node_store.hpp"
#include "net/cluster/remote_store.hpp"
#include "net/cluster/rendezvous_actor.hpp"
#include "net/cluster/store_actor.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/log.hpp"

namespace tessera::net {
namespace {

class HeadNode final : public actors::ClusterHead {
 public:
  HeadNode(ClusterConfig cluster, const actors::EngineConfig& engine, NodeFingerprint fingerprint)
      : cluster_(std::move(cluster)),
        head_ranks_(engine.tensor_parallel),
        start_timeout_(engine.start_timeout),
        fingerprint_(std::move(fingerprint)) {}

  int world_size() const override { return cluster_.global_world_size; }

  void configure(caf::actor_system_config& cfg) const override {
    configure_cluster_system(cfg, cluster_);
  }

  std::shared_ptr<gloo::rendezvous::Store> open(caf::actor_system& system,
                                                const runtime::ParallelLayout& layout,
                                                std::uint64_t seed_base) override {
    if (layout.world_size() != cluster_.global_world_size) {
      throw Error(ErrorCategory::internal,
                  "the head's layout " + layout.describe() + " is not the cluster's " +
                      std::to_string(cluster_.global_world_size) + " ranks");
    }
    store_ = spawn_store_actor(system);
    RendezvousConfig config;
    config.rules = {cluster_.secret, fingerprint_, cluster_.head_num_workers,
                    cluster_.global_world_size, head_ranks_};
    config.layout = layout;
    config.seed_base = seed_base;
    config.store = store_;
    config.start_timeout = start_timeout_;
    rendezvous_ = spawn_rendezvous(system, std::move(config));
    auto port = publish_rendezvous(system, rendezvous_, cluster_);  // TLS when configured
    if (!port) {
      throw Error(ErrorCategory::io, "the head cannot listen on port " +
                                         std::to_string(cluster_.head_port) + " for its workers: " +
                                         system.render(port.error()));
    }
    logger().info("head waiting on port {} for {} worker(s), {} ranks in all ({})",
                  static_cast<unsigned>(*port), cluster_.head_num_workers,
                  cluster_.global_world_size, describe(fingerprint_));
    return make_head_store(system, store_, start_timeout_, cluster_);
  }

  std::vector<caf::actor> join(caf::actor_system& system) override {
    caf::scoped_actor self{system};
    std::vector<caf::actor> links;
    std::string failure;
    self->request(rendezvous_, cluster_.join_timeout, mn_workers_atom::value)
        .receive([&](std::vector<caf::actor>& formed) { links = std::move(formed); },
                 [&](caf::error& error) { failure = system.render(error); });
    if (failure.empty()) return links;
    std::string status = "no status";
    self->request(rendezvous_, std::chrono::seconds(1), mn_status_atom::value)
        .receive([&](std::string& s) { status = std::move(s); }, [](caf::error&) {});
    throw Error(ErrorCategory::io, "the cluster did not form within " +
                                       std::to_string(cluster_.join_timeout.count()) + " ms (" +
                                       status + ")");
  }

  void ready() override {
    logger().info("cluster ready: {} ranks on the head and {} worker(s)", head_ranks_,
                  cluster_.head_num_workers);
  }

  void watch(const caf::actor& scheduler) override {
    caf::anon_send(rendezvous_, actors::mn_watch_atom::value, scheduler);
  }

  std::chrono::milliseconds recovery_timeout() const override { return cluster_.recovery_timeout; }

  void close() override {
    for (auto* actor : {&rendezvous_, &store_}) {
      if (*actor) caf::anon_send_exit(*actor, caf::exit_reason::user_shutdown);
      *actor = caf::actor{};
    }
  }

 private:
  ClusterConfig cluster_;
  int head_ranks_ = 1;
  std::chrono::milliseconds start_timeout_;
  NodeFingerprint fingerprint_;
  caf::actor store_;
  caf::actor rendezvous_;
};

}  // namespace

std::shared_ptr<actors::ClusterHead> make_head_node(const ClusterConfig& cluster,
                                                   const actors::EngineConfig& engine,
                                                   const NodeFingerprint& fingerprint) {
  return std::make_shared<HeadNode>(cluster, engine, fingerprint);
}

}  // namespace tessera::net
