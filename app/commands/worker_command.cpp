// `tessera worker`: run as a worker of a cluster head (no HTTP server, no prompt): join the head,
// serve its steps with this node's ranks, and exit when the head goes away. `serve` and
// `generate` given worker settings do the same, so one launch script can start every node.
#include <cstdio>
#include <memory>

#include "app/commands/cluster_flags.hpp"
#include "app/commands/engine_flags.hpp"
#include "app/commands/registry.hpp"
#include "app/commands/worker_mode.hpp"
#include "runtime/core/error.hpp"

namespace tessera::app {
namespace {

void add_worker_command(CLI::App& root) {
  auto options = std::make_shared<EngineFlags>();  // the cluster flags among them
  CLI::App* cmd = root.add_subcommand(
      "worker", "Join a cluster head as a worker and serve its steps (needs worker settings)");
  add_engine_flags(*cmd, EngineCommand::worker, *options);
  cmd->callback([options] {
    const auto cluster =
        resolve_cluster_flags(options->cluster, parse_engine_flags(*options).tensor_parallel);
    if (cluster.role != net::ClusterRole::worker) {
      throw Error(ErrorCategory::invalid_argument,
                  std::string("tessera worker needs worker settings (--mn-worker-id and "
                              "--mn-worker-server-addr, or TESSERA_MN_WORKER_ID and "
                              "TESSERA_MN_WORKER_SERVER_ADDR); these settings make a ") +
                      std::string(net::to_string(cluster.role)) + " node");
    }
    run_worker_mode(*options, cluster);
  });
}

const CommandRegistration registration{"worker", &add_worker_command};

}  // namespace
}  // namespace tessera::app
