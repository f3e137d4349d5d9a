#pragma once
// The data every actor message carries, as plain structs without CAF, so the pure parts (the
// StepPlanner) use them without pulling CAF in. messages.hpp gives them type IDs and inspect.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/request.hpp"
#include "runtime/core/failure.hpp"
#include "runtime/sampling/sampling_params.hpp"

namespace tessera::actors {

class RequestSink;
using RequestSinkPtr = std::shared_ptr<RequestSink>;

// One sequence's share of a step: `tokens` are its new tokens at positions first_position, … .
// Block tables travel as deltas: every shard keeps each live sequence's table (BlockTables), and
// `block_table` holds the table's entries from index `block_offset` on. 0: the whole table
// (a sequence's first step, its first after a preemption or after the group re-formed); else the
// blocks appended since its previous step, possibly none.
struct SequenceStep {
  std::uint64_t seq_id = 0;
  std::vector<std::int32_t> tokens;
  std::int32_t first_position = 0;
  std::vector<std::int32_t> block_table;  // cache blocks holding positions 0, B, 2B, … (a delta)
  bool needs_token = false;  // the chunk reaches the sequence's end: the driver samples a token
  bool starts = false;       // first chunk ever: the driver creates the sampling state
  runtime::SamplingParams params;
  std::vector<std::int32_t> prompt;  // only when `starts` (repetition penalty covers it)
  std::int32_t block_offset = 0;     // index of block_table[0] in the sequence's whole table
};

struct StepPlan {
  std::uint64_t step = 0;
  std::vector<SequenceStep> sequences;
  std::vector<std::uint64_t> released;  // sequences whose sampling state the driver drops
};

struct GeneratedToken {
  std::uint64_t seq_id = 0;
  std::int32_t id = 0;
  float logprob = 0.0f;
  std::vector<std::int32_t> top_ids;  // most likely first, when the request asked
  std::vector<float> top_logprobs;
};

// The driver rank's answer to a plan: one token per sequence that needed one.
struct StepResult {
  std::uint64_t step = 0;
  std::vector<GeneratedToken> tokens;
};

// The other ranks' answer to a plan.
struct ShardAck {
  std::uint64_t step = 0;
  std::int32_t rank = 0;
  bool healthy = true;
  Failure failure;  // when not healthy
};

// A shard's answer to both steps of its start-up. To init_atom (it loaded its weights and joined
// its group): its device and how many KV blocks it could hold, kv_blocks still 0. To
// (allocate_atom, blocks): the same, with kv_blocks the pool it now holds.
struct ShardReady {
  std::int32_t rank = 0;
  std::int64_t kv_blocks = 0;
  std::int64_t kv_capacity_blocks = 0;  // CPU: within kv_memory_bytes; CUDA: within free memory
  std::int64_t kv_bytes_per_block = 0;  // one block of every layer's keys and values
  std::string device{};                 // "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)"
  std::int64_t device_free_bytes = 0;   // CUDA, after the weights; 0 on the CPU
  std::int64_t device_total_bytes = 0;
};

// A sequence the scheduler ended, and why ("stop", "length", "cancelled", "error").
struct FinishedSequence {
  std::uint64_t seq_id = 0;
  std::string reason;
  Failure failure;  // for "error" and "cancelled"
};

// Scheduler -> sampler after each step: the accepted tokens, then the sequences that ended.
struct SamplerBatch {
  std::vector<GeneratedToken> tokens;
  std::vector<FinishedSequence> finished;
};

// Scheduler -> sampler when a request is admitted to the queue (sent with its RequestSinkPtr).
struct RequestStart {
  std::uint64_t id = 0;
  std::int64_t prompt_tokens = 0;
  std::vector<std::string> stop;
  bool skip_special_tokens = true;
  bool logprobs = false;
  std::vector<std::int32_t> stop_token_ids{};  // the ending token's text is dropped ...
  bool include_stop_str_in_output = false;   // ... unless this; and stop strings are kept
};

// What the scheduler reports about its pool and queues.
struct EngineStats {
  std::int64_t total_blocks = 0;
  std::int64_t free_blocks = 0;
  std::int64_t running = 0;
  std::int64_t waiting = 0;
  std::int64_t preemptions = 0;
  std::int64_t steps = 0;
};

}  // namespace tessera::actors
