#include "app/commands/worker_mode.hpp"

#include <cstdio>

#include "app/commands/cluster_flags.hpp"
#include "net/cluster/worker_node.hpp"

namespace tessera::app {

void run_worker_mode(const EngineFlags& engine, const net::ClusterConfig& cluster) {
  auto config = make_engine_config(engine);
  config.device = net::cluster_device(cluster, config.device, "--device");
  // The same launch line may run every node: where the experts go is the head's --ep, sent with
  // its layout, and a worker runs its --tp ranks whatever its own --ep says.
  config.expert_parallel = 1;
  std::fprintf(stderr, "tessera: worker %d loading %s with %d rank(s) on the CPU\n",
               cluster.worker_id, config.model_dir.c_str(), config.tensor_parallel);
  net::run_worker(config, cluster);
}

bool run_if_worker(const EngineFlags& engine) {
  const auto cluster =
      resolve_cluster_flags(engine.cluster, parse_engine_flags(engine).tensor_parallel);
  if (cluster.role != net::ClusterRole::worker) return false;
  run_worker_mode(engine, cluster);
  return true;
}

}  // namespace tessera::app
