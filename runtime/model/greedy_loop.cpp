#include "runtime/model/greedy_loop.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A batch of one sequence: `tokens` new tokens starting at `first_position`.
ForwardBatch single_sequence_batch(std::span<const std::int32_t> tokens,
                                   std::int64_t first_position,
                                   const std::vector<std::int32_t>& block_table,
                                   std::int64_t block_size) {
  ForwardBatch batch;
  batch.token_ids.assign(tokens.begin(), tokens.end());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::int64_t position = first_position + static_cast<std::int64_t>(i);
    batch.positions.push_back(static_cast<std::int32_t>(position));
    const std::int64_t block = block_table[static_cast<std::size_t>(position / block_size)];
    batch.slots.push_back(block * block_size + position % block_size);
  }
  batch.sequences.push_back({0, static_cast<std::int64_t>(tokens.size()), block_table});
  return batch;
}

}  // namespace

GreedyResult run_greedy_loop(Transformer& model, std::span<const std::int32_t> prompt,
                             const GreedyOptions& options,
                             const std::function<void(std::int32_t)>& on_token,
                             const NextTokenChooser& choose, bool keep_prompt_logits) {
  if (prompt.empty()) throw Error(ErrorCategory::invalid_argument, "the prompt has no tokens");
  if (options.max_new_tokens < 1) {
    throw Error(ErrorCategory::invalid_argument, "max_new_tokens must be at least 1");
  }
  const auto capacity = static_cast<std::int64_t>(prompt.size()) + options.max_new_tokens;
  const std::int64_t num_blocks = blocks_for_tokens(capacity, options.block_size);
  KvCache cache = model.allocate_cache(num_blocks, options.block_size);
  std::vector<std::int32_t> block_table(static_cast<std::size_t>(num_blocks));
  std::iota(block_table.begin(), block_table.end(), 0);

  GreedyResult result;
  auto start = Clock::now();
  Tensor logits = model.forward(
      single_sequence_batch(prompt, 0, block_table, options.block_size), cache);
  if (keep_prompt_logits) {
    result.last_prompt_logits.resize(static_cast<std::size_t>(logits.numel()));
    model.backend().to_host(logits, result.last_prompt_logits);
  }
  std::int32_t next = choose(logits);
  result.prefill_seconds = seconds_since(start);

  start = Clock::now();
  result.finish_reason = "length";
  auto position = static_cast<std::int64_t>(prompt.size());
  while (true) {
    result.token_ids.push_back(next);
    if (on_token) on_token(next);
    if (std::find(options.stop_token_ids.begin(), options.stop_token_ids.end(), next) !=
        options.stop_token_ids.end()) {
      result.finish_reason = "stop";
      break;
    }
    if (static_cast<std::int64_t>(result.token_ids.size()) >= options.max_new_tokens) break;
    logits = model.forward(
        single_sequence_batch(std::span(&next, 1), position, block_table, options.block_size),
        cache);
    next = choose(logits);
    ++position;
  }
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace tessera::runtime
