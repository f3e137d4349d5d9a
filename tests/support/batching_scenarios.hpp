#pragma once
// The same tokens batched in different ways, for checking that a backend's logits do not depend
// on chunking, block size, block order or batch neighbours (continuous batching relies on it).
// Each scenario returns the logits rows that must agree with a one-shot prefill.
#include <cstdint>
#include <vector>

#include "runtime/model/transformer.hpp"

namespace tessera::testing {

// Prefill of `tokens` in one chunk, with contiguous blocks of `block_size`: the reference.
std::vector<float> one_shot_logits(runtime::Transformer& model,
                                   const std::vector<std::int32_t>& tokens,
                                   std::int64_t block_size);

// The same prefill in chunks of 3, 1, 5, then 4 tokens (block size 4): the last chunk's logits.
std::vector<float> chunked_prefill_logits(runtime::Transformer& model,
                                          const std::vector<std::int32_t>& tokens);

struct TwoSequenceLogits {
  std::vector<float> short_prompt;  // its whole prompt, beside half of the long one
  std::vector<float> long_prompt;   // its second half, in a later step
};
// Both prompts in one cache with interleaved, out-of-order block tables (block size 4).
TwoSequenceLogits two_sequences_sharing_steps(runtime::Transformer& model,
                                              const std::vector<std::int32_t>& long_prompt,
                                              const std::vector<std::int32_t>& short_prompt);

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace tessera::testing
