#pragma once
// The flags every command that runs an Engine shares (`generate`, `serve`): which model, how it
// is laid out over ranks and devices. One place, so the commands spell and check them alike.
#include <CLI/CLI.hpp>

#include <string>

#include "actors/engine.hpp"
#include "actors/engine_config.hpp"
#include "net/cluster/cluster_config.hpp"

namespace tessera::app {

struct EngineFlags {
  std::string model_dir;
  int tensor_parallel = 1;
  std::string device = "auto";  // auto, cpu or cuda
  double gpu_memory_utilization = 0.9;
  net::ClusterFlags cluster;  // app/commands/cluster_flags.hpp
};

void add_engine_flags(CLI::App& command, EngineFlags& flags);

// Throws Error naming the flag when a value is out of range, or when --device cuda cannot be
// had (no CUDA in this build, fewer GPUs than --tp).
actors::EngineConfig make_engine_config(const EngineFlags& flags);

// The layout the flags give on this machine, for start-up and stats lines: "1 CPU rank",
// "2 tensor-parallel CPU ranks (Gloo all-reduce)", "1 CUDA GPU (NVIDIA H100 80GB HBM3)",
// "2 tensor-parallel GPUs (NCCL: NVIDIA H100 80GB HBM3)". Throws like make_engine_config.
std::string layout_text(const EngineFlags& flags);

// "KV cache: 4096 blocks of 16 tokens (2.00 GiB) per rank", for the start-up lines.
std::string kv_cache_text(const actors::Engine& engine);

}  // namespace tessera::app
