#pragma once
// The flags every command that runs an Engine shares (`generate`, `serve`, `worker`): every
// EngineConfig field, from the one table in engine_flag_table.hpp, and the cluster flags
// (cluster_flags.hpp). One place, so the commands spell and check them alike.
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>

#include "actors/engine.hpp"
#include "actors/engine_config.hpp"
#include "app/commands/engine_flag_table.hpp"
#include "net/cluster/cluster_config.hpp"

namespace tessera::app {

struct EngineFlags {
  // The engine flags given, by flag ("--tp"), as typed; a row not given keeps EngineConfig's
  // default. Kept as text so that every value is read and refused by its row alike.
  std::map<std::string, std::string, std::less<>> given;
  net::ClusterFlags cluster;  // app/commands/cluster_flags.hpp
};

// Registers the rows `command` takes, and the cluster flags.
void add_engine_flags(CLI::App& command, EngineCommand which, EngineFlags& flags);

// The EngineConfig the flags give, each value checked by its row (an Error names the flag), the
// device and cluster not yet resolved: what a process needs to know its own ranks.
actors::EngineConfig parse_engine_flags(const EngineFlags& flags);

// parse_engine_flags, then the device and the cluster: throws Error naming the flag when
// --device cuda cannot be had (no CUDA in this build, fewer GPUs than --tp) or a cluster setting
// is wrong; a head gets its cluster part.
actors::EngineConfig make_engine_config(const EngineFlags& flags);

// The layout `config` (from make_engine_config) runs on this machine, for start-up and stats
// lines: "1 CPU rank", "2 tensor-parallel CPU ranks (Gloo all-reduce)", "1 CUDA GPU (NVIDIA
// H100 80GB HBM3)", "2 tensor-parallel GPUs (NCCL: NVIDIA H100 80GB HBM3)".
std::string layout_text(const actors::EngineConfig& config);

// "KV cache: 4096 blocks of 16 tokens (2.00 GiB) per rank", for the start-up lines.
std::string kv_cache_text(const actors::Engine& engine);

}  // namespace tessera::app
