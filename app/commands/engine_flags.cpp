#include "app/commands/engine_flags.hpp"

#include <cstdio>

#include "actors/cluster_head.hpp"
#include "app/commands/cluster_flags.hpp"
#include "net/cluster/head_node.hpp"
#include "net/cluster/node_fingerprint.hpp"
#include "runtime/core/error.hpp"

namespace tessera::app {
namespace {

// The name of every GPU the ranks use, once when they are all alike; empty when none can be
// queried (the layout line then goes without).
std::string gpu_names(int ranks) {
  std::string names;
  std::string first;
  bool alike = true;
  try {
    for (int device = 0; device < ranks; ++device) {
      const std::string name = actors::cuda_device_name(device);
      if (device == 0) first = name;
      alike = alike && name == first;
      names += (names.empty() ? "" : ", ") + name;
    }
  } catch (const Error&) {
    return {};
  }
  return alike ? first : names;
}

}  // namespace

void add_engine_flags(CLI::App& command, EngineCommand which, EngineFlags& flags) {
  const std::string group = "Engine (each sets an EngineConfig field; see the README's Flags)";
  for (const auto& row : engine_flag_rows()) {
    if (!row.commands.has(which)) continue;
    auto* option = command.add_option_function<std::string>(
        std::string(row.flag),
        [&given = flags.given, flag = std::string(row.flag)](const std::string& text) {
          given[flag] = text;
        },
        help_text(row));
    option->type_name(std::string(row.value_name))->required(row.required)->group(group);
  }
  add_cluster_flags(command, flags.cluster);
}

actors::EngineConfig parse_engine_flags(const EngineFlags& flags) {
  actors::EngineConfig config;
  for (const auto& row : engine_flag_rows()) {
    if (const auto given = flags.given.find(row.flag); given != flags.given.end()) {
      row.set(row.flag, given->second, config);
    }
  }
  return config;
}

actors::EngineConfig make_engine_config(const EngineFlags& flags) {
  auto config = parse_engine_flags(flags);
  actors::resolve_device(config, {"--device", "--tp/--ep"});  // refuses cuda that cannot be had
  const auto cluster = resolve_cluster_flags(flags.cluster, config.tensor_parallel);
  config.device = net::cluster_device(cluster, config.device, "--device");
  // Every rank must cut the KV cache into blocks alike, and a head does not tell its workers its
  // block size yet: a node with another one would read the wrong slots without noticing.
  if (cluster.clustered() && config.block_size != actors::EngineConfig{}.block_size) {
    throw Error(ErrorCategory::invalid_argument,
                "--kv-block-size is " + std::to_string(config.block_size) + ", but a cluster's " +
                    "nodes all use the default " +
                    std::to_string(actors::EngineConfig{}.block_size) +
                    " for now (a head does not pass its block size to its workers yet)");
  }
  if (cluster.role == net::ClusterRole::head) {
    config.cluster = net::make_head_node(
        cluster, config, net::make_fingerprint(config.model_dir, std::string(actors::to_string(config.device))));
  }
  return config;
}

std::string layout_text(const actors::EngineConfig& config) {
  if (config.cluster) {
    return std::to_string(config.tensor_parallel) + " CPU rank(s) heading a cluster of " +
           std::to_string(config.cluster->world_size()) + " ranks (Gloo all-reduce" +
           (config.expert_parallel == 1
                ? std::string(")")
                : "; experts over " + std::to_string(config.expert_parallel) + " ranks)");
  }
  const int ranks = config.local_ranks();
  // "tensor-parallel", or with experts spread too "tp 1 × ep 2".
  const std::string kind =
      config.expert_parallel == 1 ? "tensor-parallel"
                                  : "tp " + std::to_string(config.tensor_parallel) + " × ep " +
                                        std::to_string(config.expert_parallel);
  if (actors::resolve_device(config) == actors::DeviceKind::cpu) {
    return ranks == 1 ? "1 CPU rank"
                      : std::to_string(ranks) + " " + kind + " CPU ranks (Gloo all-reduce)";
  }
  const std::string names = gpu_names(ranks);
  if (ranks == 1) return "1 CUDA GPU" + (names.empty() ? "" : " (" + names + ")");
  return std::to_string(ranks) + " " + kind + " GPUs (NCCL" +
         (names.empty() ? "" : ": " + names) + ")";
}

std::string kv_cache_text(const actors::Engine& engine) {
  char size[32];
  std::snprintf(size, sizeof size, "%.2f GiB",
                static_cast<double>(engine.kv_cache_bytes_per_rank()) / (1024.0 * 1024 * 1024));
  return "KV cache: " + std::to_string(engine.kv_blocks()) + " blocks of " +
         std::to_string(engine.config().block_size) + " tokens (" + size + ") per rank";
}

}  // namespace tessera::app
