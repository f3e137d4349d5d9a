#pragma once
// The scheduler's view of one sequence: its tokens so far, how many of them sit in the KV cache,
// and the blocks that hold them. Pure data; StepPlanner moves it between queues.
#include <cstdint>
#include <vector>

#include "runtime/sampling/sampling_params.hpp"

namespace tessera::actors {

struct RequestState {
  std::uint64_t id = 0;
  std::vector<std::int32_t> prompt;
  std::vector<std::int32_t> generated;
  runtime::SamplingParams params;
  std::int64_t max_tokens = 1;
  bool ignore_eos = false;
  std::vector<std::int32_t> stop_token_ids;  // end the sequence as EOS does, ignore_eos or not

  std::vector<std::int32_t> block_table;
  std::int64_t blocks_sent = 0;   // entries of block_table the shards hold from earlier steps
  std::uint64_t planned_in = 0;   // 1 + the number of the last step that carried it (0: none)
  std::int64_t computed = 0;      // tokens whose keys and values are in the cache
  std::uint64_t admitted_at = 0;  // admission order; the most recent is preempted first
  bool running = false;
  bool started = false;           // the driver rank holds its sampling state
  bool awaiting_token = false;    // a planned step will produce its next token

  std::int64_t total_tokens() const {
    return static_cast<std::int64_t>(prompt.size() + generated.size());
  }
  std::int32_t token_at(std::int64_t i) const {
    const auto p = static_cast<std::int64_t>(prompt.size());
    return i < p ? prompt[static_cast<std::size_t>(i)] : generated[static_cast<std::size_t>(i - p)];
  }
};

}  // namespace tessera::actors
