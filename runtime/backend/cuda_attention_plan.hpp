#pragma once
// Which kernel computes the attention of each token of a step (internal to the CUDA backend):
// sequences that bring at least kFlashMinTokens new tokens (long prefill chunks) go to the
// tiled flash kernel, the others (decode tokens, short chunks) to the per-token kernel.
//
// The threshold keeps short prompts on the per-token kernel, whose f32 result for a token does
// not depend on how its sequence is chunked; the flash kernel rounds queries and probabilities
// to bf16, so the same token gets slightly different numbers there. Long chunks are where the
// per-token kernel is slow (it rereads the keys and values once per token).
#include <cstdint>
#include <vector>

#include "runtime/kv/forward_batch.hpp"

namespace tessera::runtime::cuda_step {

constexpr std::int64_t kFlashMinTokens = 64;

struct AttentionPlan {
  // Flash tiles as int32 triples (sequence, first token, count): kernels::cuda::FlashTile.
  // Ordered by the last position they cover, largest first, so that the longest-running blocks
  // start first and the short ones fill in behind them.
  std::vector<std::int32_t> flash_tiles;
  // With flash tiles: the tokens left to the per-token kernel, ascending (possibly none).
  // Without: empty, and every token goes to the per-token kernel (all_other()).
  std::vector<std::int32_t> other_tokens;
  bool all_other() const { return flash_tiles.empty(); }
  std::int64_t tile_count() const { return static_cast<std::int64_t>(flash_tiles.size()) / 3; }
};

// `tokens_per_tile` 0 means the flash kernel cannot take this shape: every token goes to the
// per-token kernel. Expects a batch that fill_metadata has accepted.
AttentionPlan plan_attention(const ForwardBatch& batch, std::int64_t tokens_per_tile);

}  // namespace tessera::runtime::cuda_step
