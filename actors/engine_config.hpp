#pragma once
// How an Engine is set up. Every field is checked by Engine::start, which names a bad one.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

namespace tessera::actors {

class ClusterHead;  // cluster_head.hpp

// Where the shards compute. automatic: one CUDA GPU per rank when CUDA was built in and there are
// at least as many GPUs as ranks, otherwise the CPU.
enum class DeviceKind : std::uint8_t { automatic, cpu, cuda };

inline std::string_view to_string(DeviceKind device) {
  switch (device) {
    case DeviceKind::cpu:
      return "cpu";
    case DeviceKind::cuda:
      return "cuda";
    case DeviceKind::automatic:
      break;
  }
  return "auto";
}

// "auto", "cpu" or "cuda"; nothing for any other text.
inline std::optional<DeviceKind> parse_device_kind(std::string_view text) {
  for (const auto device : {DeviceKind::automatic, DeviceKind::cpu, DeviceKind::cuda}) {
    if (text == to_string(device)) return device;
  }
  return std::nullopt;
}

struct EngineConfig {
  std::filesystem::path model_dir;
  int tensor_parallel = 1;  // shards: CPU ranks joined through Gloo, or GPUs through NCCL
  // A mixture-of-experts model's experts placed whole over this many ranks (ParallelLayout's
  // ep). On one node the engine runs max(tensor_parallel, expert_parallel) ranks; a cluster's
  // ranks are the nodes' tensor_parallel added up, and ep must divide them.
  int expert_parallel = 1;
  DeviceKind device = DeviceKind::automatic;
  // CUDA: the share of each GPU's memory tessera may fill; the KV pool gets what the weights
  // leave of it, measured after they are loaded. Range (0, 1].
  double gpu_memory_utilization = 0.9;
  // 0: automatic, never more than max_running sequences of the model's full context need; on the
  // CPU as many as kv_memory_bytes allows, on CUDA as many as gpu_memory_utilization allows.
  std::int64_t kv_blocks = 0;
  std::int64_t kv_memory_bytes = 256LL << 20;  // per CPU rank, when kv_blocks is 0
  std::int64_t block_size = 16;      // tokens per KV block
  std::int64_t max_batch_tokens = 256;  // new tokens per step (prefill chunks and decodes)
  std::int64_t max_running = 64;     // sequences in the running queue at once
  std::size_t actor_threads = 0;     // CAF worker threads; 0: CAF's default
  std::chrono::milliseconds start_timeout{120000};  // loading weights and joining the group
  std::chrono::milliseconds step_timeout{300000};   // one forward step
  // Each collective or transfer between ranks, and joining their group: a peer silent this long
  // fails the step (Gloo) or aborts the communicator (NCCL) instead of hanging it.
  std::chrono::milliseconds collective_timeout{30000};
  // A cluster head's part (net/cluster/head_node.hpp); null on a single node. With one, this
  // node's tensor_parallel ranks are global ranks 0 … tensor_parallel-1 of cluster->world_size(),
  // and start waits for every worker before its ranks join the group.
  std::shared_ptr<ClusterHead> cluster;

  // The ranks this process runs.
  int local_ranks() const {
    return cluster || expert_parallel < tensor_parallel ? tensor_parallel : expert_parallel;
  }
};

}  // namespace tessera::actors
