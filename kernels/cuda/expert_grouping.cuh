#pragma once
// What experts.cu (routing, grouping, combine) and expert_products.cu (the experts' products)
// share: where the grouping leaves the (token, slot) pairs of each held expert, the tiles the
// product blocks take, and the bounds that size their grids. Internal to those two files.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda::detail {

// Up to this many tokens the products are GEMVs (expert_products.cu), and an expert has at most
// this many rows (a token picks an expert once): one tile per expert with rows.
constexpr int kGemvTokens = 8;
// Rows of one expert per block of the tiled products.
constexpr int kTileRows = 32;

// Where the grouping kernel leaves the pairs of the held experts, for the products and the
// combine. Pair i is token i / top_k's slot i % top_k.
struct Grouping {
  const std::int32_t* experts = nullptr;  // [pairs]: the global expert of each pair
  std::int32_t* offsets = nullptr;        // [count + 1]: expert c's rows from offsets[c] on
  std::int32_t* rows = nullptr;           // [pairs]: the pairs of each held expert, in pair order
  std::int32_t* tiles = nullptr;          // [2 · max_tiles]: (local expert, first row) of each tile
  std::int32_t* tile_count = nullptr;     // [1]: tiles in use
};

// The tile a product block works on: expert `expert` (local), rows first_row … first_row + n - 1
// of the grouping. False for a block past the tiles in use.
struct Tile {
  int expert = 0;
  int first_row = 0;
  int n = 0;
};

__device__ inline bool find_tile(const Grouping& g, int rows_per_tile, Tile& tile) {
  const int index = static_cast<int>(blockIdx.x);
  if (index >= *g.tile_count) return false;
  tile.expert = g.tiles[2 * index];
  tile.first_row = g.tiles[2 * index + 1];
  tile.n = min(rows_per_tile, g.offsets[tile.expert + 1] - tile.first_row);
  return true;
}

inline bool few_tokens(const ExpertMixture& m) { return m.tokens <= kGemvTokens; }

// Rows of one expert per tile on the path `m` takes.
inline int tile_rows(const ExpertMixture& m) { return few_tokens(m) ? kGemvTokens : kTileRows; }

// The most tiles any routing can need. At most min(count, pairs) experts have rows. With few
// tokens each has one tile (a token picks an expert once, so an expert has at most `tokens` rows);
// otherwise each adds at most one partial tile to the pairs' full ones.
inline std::int64_t max_tiles(const ExpertMixture& m) {
  const std::int64_t pairs = m.tokens * m.top_k;
  const std::int64_t experts_with_rows = m.count < pairs ? m.count : pairs;
  return few_tokens(m) ? experts_with_rows : experts_with_rows + pairs / kTileRows;
}

// The gate/up products with SiLU·up (activated[row, f], bf16) and the down products
// (expert_out[pair, o], f32) of every tile `g` lists, on `m`'s path (GEMV or tiled).
void launch_expert_products(const float* x, const ExpertMixture& m, const Grouping& g,
                            __nv_bfloat16* activated, float* expert_out, cudaStream_t stream);
void launch_expert_products(const __nv_bfloat16* x, const ExpertMixture& m, const Grouping& g,
                            __nv_bfloat16* activated, float* expert_out, cudaStream_t stream);

}  // namespace tessera::kernels::cuda::detail
