#pragma once
// How an Engine is set up. Every field is checked by Engine::start, which names a bad one.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace tessera::actors {

struct EngineConfig {
  std::filesystem::path model_dir;
  int tensor_parallel = 1;           // shards (CPU ranks joined through Gloo when > 1)
  std::int64_t kv_blocks = 0;        // 0: as many as kv_memory_bytes allows (capped, see below)
  std::int64_t kv_memory_bytes = 256LL << 20;  // per rank, when kv_blocks is 0
  std::int64_t block_size = 16;      // tokens per KV block
  std::int64_t max_batch_tokens = 256;  // new tokens per step (prefill chunks and decodes)
  std::int64_t max_running = 64;     // sequences in the running queue at once
  std::size_t actor_threads = 0;     // CAF worker threads; 0: CAF's default
  std::chrono::milliseconds start_timeout{120000};  // loading weights and joining the group
  std::chrono::milliseconds step_timeout{300000};   // one forward step
};

}  // namespace tessera::actors
