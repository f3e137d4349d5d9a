#include "app/commands/engine_flags.hpp"

#include <cstdio>
#include <sstream>

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

void add_engine_flags(CLI::App& command, EngineFlags& flags) {
  command.add_option("--model", flags.model_dir, "Hugging Face model folder")->required();
  command.add_option("--tp", flags.tensor_parallel, "Tensor-parallel ranks in this process")
      ->capture_default_str();
  command.add_option("--device", flags.device, "auto (a CUDA GPU per rank if enough), cpu, cuda")
      ->capture_default_str();
  command.add_option("--gpu-memory-utilization", flags.gpu_memory_utilization,
                     "Share of each GPU for weights and KV cache, in (0, 1]")
      ->capture_default_str();
  add_cluster_flags(command, flags.cluster);
}

actors::EngineConfig make_engine_config(const EngineFlags& flags) {
  if (flags.tensor_parallel < 1) {
    throw Error(ErrorCategory::invalid_argument,
                "--tp must be at least 1 (got " + std::to_string(flags.tensor_parallel) + ")");
  }
  const auto device = actors::parse_device_kind(flags.device);
  if (!device) {
    throw Error(ErrorCategory::invalid_argument,
                "--device must be auto, cpu or cuda (got '" + flags.device + "')");
  }
  if (!(flags.gpu_memory_utilization > 0.0 && flags.gpu_memory_utilization <= 1.0)) {
    std::ostringstream got;
    got << flags.gpu_memory_utilization;
    throw Error(ErrorCategory::invalid_argument,
                "--gpu-memory-utilization must be above 0 and at most 1 (got " + got.str() + ")");
  }
  actors::EngineConfig config;
  config.model_dir = flags.model_dir;
  config.tensor_parallel = flags.tensor_parallel;
  config.device = *device;
  config.gpu_memory_utilization = flags.gpu_memory_utilization;
  actors::resolve_device(config, {"--device", "--tp"});  // refuses cuda that cannot be had
  // A head serves its workers from this Engine; a worker never gets here (run_if_worker).
  const auto cluster = resolve_cluster_flags(flags.cluster, flags.tensor_parallel);
  config.device = net::cluster_device(cluster, config.device, "--device");
  if (cluster.role == net::ClusterRole::head) {
    config.cluster = net::make_head_node(
        cluster, config, net::make_fingerprint(config.model_dir, std::string(actors::to_string(config.device))));
  }
  return config;
}

std::string layout_text(const EngineFlags& flags) {
  const auto config = make_engine_config(flags);
  if (config.cluster) {
    return std::to_string(config.tensor_parallel) + " CPU rank(s) heading a cluster of " +
           std::to_string(config.cluster->world_size()) + " ranks (Gloo all-reduce)";
  }
  const int ranks = config.tensor_parallel;
  if (actors::resolve_device(config) == actors::DeviceKind::cpu) {
    return ranks == 1 ? "1 CPU rank"
                      : std::to_string(ranks) + " tensor-parallel CPU ranks (Gloo all-reduce)";
  }
  const std::string names = gpu_names(ranks);
  if (ranks == 1) return "1 CUDA GPU" + (names.empty() ? "" : " (" + names + ")");
  return std::to_string(ranks) + " tensor-parallel GPUs (NCCL" +
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
