#include "tests/support/batching_scenarios.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace tessera::testing {
namespace {

using runtime::ForwardBatch;
using runtime::KvCache;

struct Sequence {
  std::vector<std::int32_t> tokens;
  std::vector<std::int32_t> block_table;
  std::int64_t cached = 0;  // tokens already in the cache
};

// Appends `count` of the sequence's next tokens to the batch.
void add_chunk(ForwardBatch& batch, Sequence& seq, std::int64_t count, std::int64_t block_size) {
  batch.sequences.push_back({static_cast<std::int64_t>(batch.token_ids.size()), count,
                             seq.block_table});
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t pos = seq.cached + i;
    batch.token_ids.push_back(seq.tokens[static_cast<std::size_t>(pos)]);
    batch.positions.push_back(static_cast<std::int32_t>(pos));
    batch.slots.push_back(seq.block_table[static_cast<std::size_t>(pos / block_size)] * block_size +
                          pos % block_size);
  }
  seq.cached += count;
}

std::vector<float> logits_row(runtime::Transformer& model, const runtime::Tensor& logits,
                              std::int64_t r) {
  std::vector<float> all(static_cast<std::size_t>(logits.numel()));
  model.backend().to_host(logits, all);
  const auto begin = all.begin() + r * logits.cols();
  return {begin, begin + logits.cols()};
}

Sequence contiguous(const std::vector<std::int32_t>& tokens, std::int64_t block_size) {
  Sequence seq{tokens, {}, 0};
  seq.block_table.resize(
      static_cast<std::size_t>(runtime::blocks_for_tokens(std::ssize(tokens), block_size)));
  std::iota(seq.block_table.begin(), seq.block_table.end(), 0);
  return seq;
}

}  // namespace

std::vector<float> one_shot_logits(runtime::Transformer& model,
                                   const std::vector<std::int32_t>& tokens,
                                   std::int64_t block_size) {
  Sequence seq = contiguous(tokens, block_size);
  KvCache cache = model.allocate_cache(std::ssize(seq.block_table), block_size);
  ForwardBatch batch;
  add_chunk(batch, seq, std::ssize(tokens), block_size);
  return logits_row(model, model.forward(batch, cache), 0);
}

std::vector<float> chunked_prefill_logits(runtime::Transformer& model,
                                          const std::vector<std::int32_t>& tokens) {
  constexpr std::int64_t block_size = 4;
  Sequence seq = contiguous(tokens, block_size);
  KvCache cache = model.allocate_cache(std::ssize(seq.block_table), block_size);
  std::vector<float> last;
  for (std::size_t chunk_index = 0; seq.cached < std::ssize(tokens); ++chunk_index) {
    constexpr std::int64_t first_chunks[] = {3, 1, 5};
    const std::int64_t chunk = chunk_index < 3 ? first_chunks[chunk_index] : 4;
    ForwardBatch batch;
    add_chunk(batch, seq, std::min(chunk, std::ssize(tokens) - seq.cached), block_size);
    last = logits_row(model, model.forward(batch, cache), 0);
  }
  return last;
}

TwoSequenceLogits two_sequences_sharing_steps(runtime::Transformer& model,
                                              const std::vector<std::int32_t>& long_prompt,
                                              const std::vector<std::int32_t>& short_prompt) {
  constexpr std::int64_t block_size = 4;
  KvCache cache = model.allocate_cache(16, block_size);
  Sequence a{long_prompt, {9, 2, 14, 0, 7, 11, 5, 3, 12, 1}, 0};
  Sequence b{short_prompt, {4, 13, 6, 8, 10, 15}, 0};
  if (runtime::blocks_for_tokens(std::ssize(a.tokens), block_size) > std::ssize(a.block_table) ||
      runtime::blocks_for_tokens(std::ssize(b.tokens), block_size) > std::ssize(b.block_table)) {
    throw std::invalid_argument("prompts too long for the scenario's block tables");
  }
  // Step 1: b's whole prompt beside the first half of a's; step 2: the rest of a's.
  ForwardBatch first;
  add_chunk(first, b, std::ssize(b.tokens), block_size);
  add_chunk(first, a, std::ssize(a.tokens) / 2, block_size);
  TwoSequenceLogits out;
  out.short_prompt = logits_row(model, model.forward(first, cache), 0);
  ForwardBatch second;
  add_chunk(second, a, std::ssize(a.tokens) - a.cached, block_size);
  out.long_prompt = logits_row(model, model.forward(second, cache), 0);
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= diff)) diff = std::isnan(d) ? INFINITY : d;  // NaN counts as the worst
  }
  return diff;
}

}  // namespace tessera::testing
