#include "runtime/backend/cuda_attention_plan.hpp"

#include <algorithm>
#include <array>

namespace tessera::runtime::cuda_step {

AttentionPlan plan_attention(const ForwardBatch& batch, std::int64_t tokens_per_tile) {
  AttentionPlan plan;
  struct Tile {
    std::array<std::int32_t, 3> fields;  // sequence, first token, count
    std::int32_t last_position;
  };
  std::vector<Tile> tiles;
  std::vector<bool> flash(batch.positions.size(), false);
  for (std::size_t s = 0; s < batch.sequences.size(); ++s) {
    const SequenceInBatch& seq = batch.sequences[s];
    if (tokens_per_tile <= 0 || seq.token_count < kFlashMinTokens) continue;
    for (std::int64_t first = seq.first_token; first < seq.first_token + seq.token_count;
         first += tokens_per_tile) {
      const std::int64_t count =
          std::min(tokens_per_tile, seq.first_token + seq.token_count - first);
      std::int32_t last = 0;
      for (std::int64_t t = first; t < first + count; ++t) {
        last = std::max(last, batch.positions[static_cast<std::size_t>(t)]);
        flash[static_cast<std::size_t>(t)] = true;
      }
      tiles.push_back({{static_cast<std::int32_t>(s), static_cast<std::int32_t>(first),
                        static_cast<std::int32_t>(count)},
                       last});
    }
  }
  std::stable_sort(tiles.begin(), tiles.end(),
                   [](const Tile& a, const Tile& b) { return a.last_position > b.last_position; });
  for (const Tile& tile : tiles) {
    plan.flash_tiles.insert(plan.flash_tiles.end(), tile.fields.begin(), tile.fields.end());
  }
  if (!tiles.empty()) {
    for (std::size_t t = 0; t < flash.size(); ++t) {
      if (!flash[t]) plan.other_tokens.push_back(static_cast<std::int32_t>(t));
    }
  }
  return plan;
}

}  // namespace tessera::runtime::cuda_step
