#pragma once
// What one forward step computes: the new tokens of several sequences (prefill chunks and decode
// tokens alike), where each sits, and where its key and value go in the paged KV cache.
#include <cstdint>
#include <vector>

namespace tessera::runtime {

struct SequenceInBatch {
  std::int64_t first_token = 0;  // index of the sequence's first new token in the batch
  std::int64_t token_count = 0;  // its new tokens; logits are produced for the last one
  std::vector<std::int32_t> block_table;  // cache blocks holding positions 0, B, 2B, …
};

struct ForwardBatch {
  std::vector<std::int32_t> token_ids;  // all sequences' new tokens, sequence after sequence
  std::vector<std::int32_t> positions;  // position of each token in its sequence
  std::vector<std::int64_t> slots;      // cache slot of each token: block * block_size + offset
  std::vector<SequenceInBatch> sequences;
  // For vision models, not taken by any architecture yet (the transformer refuses them): rows of
  // [tokens, hidden] that replace the token ids' embeddings, and positions with several axes
  // (multimodal RoPE), `positions` then holding position_axes values per token, axis after axis.
  std::vector<float> input_embeddings;
  int position_axes = 1;
};

}  // namespace tessera::runtime
