#pragma once
// The cluster flags every command that can join a cluster shares (`generate`, `serve`, `worker`):
// the role and how to reach the other nodes. Each has an environment variable (TESSERA_* or the
// MISTRALRS_* spelling); net/cluster/cluster_config.hpp reads and checks them together.
#include <CLI/CLI.hpp>

#include "net/cluster/cluster_config.hpp"

namespace tessera::app {

void add_cluster_flags(CLI::App& command, net::ClusterFlags& flags);

// The flags and this process's environment, for a process with `local_ranks` ranks. Throws Error
// naming the flag or variable at fault.
net::ClusterConfig resolve_cluster_flags(const net::ClusterFlags& flags, int local_ranks);

}  // namespace tessera::app
