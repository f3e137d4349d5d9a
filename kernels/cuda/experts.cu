// A mixture of experts on the GPU in five launches: route, group, gate/up products, down
// products, combine.
//
// Why it is laid out this way:
// - Everything stays on the device and every launch shape follows from the call's shape alone
//   (tokens, top_k, held experts), never from the routing. Which experts a token picks is known
//   only on the GPU: reading it back would stall the host every layer and could not be captured
//   in a CUDA graph. So the grids are sized for the worst case the host can bound, and each
//   block looks its work up in tables the grouping kernel wrote, exiting at once when there is
//   none. The scratch is one buffer whose size is fixed by the shape.
// - Routing is one warp per token: the top_k picks are top_k warp-wide arg-max passes, each
//   taking the best (probability, index) that ranks after the previous pick in the routing order
//   (larger probability first, equal ones by lower index): the CPU's stable sort, with no list of
//   picks to keep.
// - (token, slot) pairs are grouped by expert with a stable counting sort (per expert, a warp
//   ballots over the pairs in order), so the grouping, and everything computed from it, is the
//   same on every run and in every replay: no atomics anywhere, results are bit for bit
//   repeatable.
// - Grouping lets each expert's weights be read once for all the rows routed to it, and an expert
//   no row chose is never read: a batch-1 step reads the top_k chosen experts' gate, up and down
//   weights and nothing else.
// - Two product shapes, chosen by the token count only. Up to kGemvTokens tokens an expert has at
//   most that many rows (a token picks an expert once), so the product is a GEMV as in gemv.cu:
//   one warp per weight row streaming it in 16-byte loads and applying it to all the expert's
//   rows, bandwidth bound as a decode step is. With more tokens a tiled kernel keeps a tile of an
//   expert's weights in shared memory for up to kTileRows of its rows. (It runs on the f32 cores;
//   tensor cores, as flash_attention.cu uses, are the next step for long prefills.)
// - SiLU(gate)·up is computed where gate and up are: one warp (or tile) computes both of a
//   feature, so the [rows, 2·features] intermediate never reaches memory; the activation is
//   stored in bf16, what the down product reads (as the dense MLP's silu_mul into a linear input).
// - The down product writes each pair's output to the pair's own row, and the combine sums a
//   token's slots in slot order 0 … top_k-1: deterministic, where summing into out from the
//   experts' blocks would need atomics in a varying order.
#include <cuda_bf16.h>

#include <climits>
#include <cstdint>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

using namespace detail;

constexpr unsigned kFullMask = 0xffffffffu;

// --- Routing ----------------------------------------------------------------------------------

constexpr int kRouteWarps = 8;

// Whether (p, e) comes before (q, f) in the routing order: larger probability first, equal
// probabilities by lower expert index.
__device__ inline bool ranks_before(float p, int e, float q, int f) {
  return p > q || (p == q && e < f);
}

// One warp per token: experts[t·top_k + j] and weights[t·top_k + j] for j < top_k, as
// kernels::cpu::route_token computes them (p = exp(l - max) / Σ exp(l - max)).
__global__ void __launch_bounds__(kRouteWarps * 32)
    route_kernel(const float* logits, int tokens, int num_experts, int top_k, bool normalize,
                 std::int32_t* experts, float* weights) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int token = static_cast<int>(blockIdx.x) * kRouteWarps + static_cast<int>(threadIdx.x) / 32;
  if (token >= tokens) return;  // the whole warp
  const float* row = logits + static_cast<std::int64_t>(token) * num_experts;
  float max_logit = -INFINITY;
  for (int e = lane; e < num_experts; e += 32) max_logit = fmaxf(max_logit, row[e]);
  for (int offset = 16; offset > 0; offset /= 2) {
    max_logit = fmaxf(max_logit, __shfl_xor_sync(kFullMask, max_logit, offset));
  }
  float sum = 0.0f;
  for (int e = lane; e < num_experts; e += 32) sum += expf(row[e] - max_logit);
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(kFullMask, sum, offset);

  const std::int64_t base = static_cast<std::int64_t>(token) * top_k;
  float previous_p = INFINITY;  // every probability ranks after this
  int previous_e = -1;
  float chosen_sum = 0.0f;
  for (int j = 0; j < top_k; ++j) {
    // The best of the experts that rank after the previous pick. Recomputing p gives the same
    // value each pass, so the comparisons are consistent.
    float best_p = -1.0f;  // below every probability (p >= 0)
    int best_e = INT_MAX;  // never held: a NaN row picks nothing
    for (int e = lane; e < num_experts; e += 32) {
      const float p = expf(row[e] - max_logit);
      if (ranks_before(previous_p, previous_e, p, e) && ranks_before(p, e, best_p, best_e)) {
        best_p = p;
        best_e = e;
      }
    }
    // The order is total, so every lane ends with the same winner.
    for (int offset = 16; offset > 0; offset /= 2) {
      const float other_p = __shfl_xor_sync(kFullMask, best_p, offset);
      const int other_e = __shfl_xor_sync(kFullMask, best_e, offset);
      if (ranks_before(other_p, other_e, best_p, best_e)) {
        best_p = other_p;
        best_e = other_e;
      }
    }
    const float weight = best_p / sum;
    if (lane == 0) {
      experts[base + j] = best_e;
      weights[base + j] = weight;
    }
    chosen_sum += weight;
    previous_p = best_p;
    previous_e = best_e;
  }
  if (normalize && lane == 0) {
    for (int j = 0; j < top_k; ++j) weights[base + j] /= chosen_sum;
  }
}

// --- Grouping ---------------------------------------------------------------------------------

// Where the grouping kernel leaves the pairs of the held experts, for the products and the
// combine. Pair i is token i / top_k's slot i % top_k.
struct Grouping {
  const std::int32_t* experts = nullptr;  // [pairs]: the global expert of each pair
  std::int32_t* offsets = nullptr;        // [count + 1]: expert c's rows from offsets[c] on
  std::int32_t* rows = nullptr;           // [pairs]: the pairs of each held expert, in pair order
  std::int32_t* tiles = nullptr;          // [2 · max_tiles]: (local expert, first row) of each tile
  std::int32_t* tile_count = nullptr;     // [1]: tiles in use
};

constexpr int kGroupThreads = 512;

// One block. Each warp takes experts c, c + warps, …: counts its pairs (a ballot per 32 pairs);
// thread 0 turns the counts into offsets and tile numbers; then each warp writes its pairs' rows
// (a pair's place among its expert's pairs is the number of them before it, so the order is the
// pairs' own) and its tiles of up to tile_rows rows.
__global__ void __launch_bounds__(kGroupThreads)
    group_kernel(int pairs, int first, int count, int tile_rows, Grouping g) {
  extern __shared__ std::int32_t shared[];
  std::int32_t* counts = shared;             // [count]
  std::int32_t* starts = shared + count;     // [count]
  std::int32_t* first_tile = starts + count;  // [count]
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  constexpr int kWarps = kGroupThreads / 32;
  for (int c = warp; c < count; c += kWarps) {
    int n = 0;
    for (int base = 0; base < pairs; base += 32) {
      const int i = base + lane;
      n += __popc(__ballot_sync(kFullMask, i < pairs && g.experts[i] == first + c));
    }
    if (lane == 0) counts[c] = n;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int row = 0, tile = 0;
    for (int c = 0; c < count; ++c) {
      starts[c] = row;
      first_tile[c] = tile;
      g.offsets[c] = row;
      row += counts[c];
      tile += (counts[c] + tile_rows - 1) / tile_rows;
    }
    g.offsets[count] = row;
    *g.tile_count = tile;
  }
  __syncthreads();
  const unsigned lanes_before = (1u << lane) - 1u;
  for (int c = warp; c < count; c += kWarps) {
    int row = starts[c];
    for (int base = 0; base < pairs; base += 32) {
      const int i = base + lane;
      const bool mine = i < pairs && g.experts[i] == first + c;
      const unsigned ballot = __ballot_sync(kFullMask, mine);
      if (mine) g.rows[row + __popc(ballot & lanes_before)] = i;
      row += __popc(ballot);
    }
    const int tiles = (counts[c] + tile_rows - 1) / tile_rows;
    for (int t = lane; t < tiles; t += 32) {
      g.tiles[2 * (first_tile[c] + t)] = c;
      g.tiles[2 * (first_tile[c] + t) + 1] = starts[c] + t * tile_rows;
    }
  }
}

// The tile a product block works on: expert `expert` (local), rows first_row … first_row + n - 1
// of the grouping. False for a block past the tiles in use.
struct Tile {
  int expert = 0;
  int first_row = 0;
  int n = 0;
};

__device__ inline bool find_tile(const Grouping& g, int tile_rows, Tile& tile) {
  const int index = static_cast<int>(blockIdx.x);
  if (index >= *g.tile_count) return false;
  tile.expert = g.tiles[2 * index];
  tile.first_row = g.tiles[2 * index + 1];
  tile.n = min(tile_rows, g.offsets[tile.expert + 1] - tile.first_row);
  return true;
}

__device__ inline float silu_times(float gate, float up) {
  return gate / (1.0f + expf(-gate)) * up;
}

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// --- Products for a few tokens (GEMV) ---------------------------------------------------------

constexpr int kGemvTokens = 8;  // also the most rows of an expert on this path
constexpr int kGemvWarps = 8;   // weight rows (outputs) per block

// acc[r] += Σ_k in[r][k] · w[k] for the n (≤ kRows) rows `in`, k < depth, over the warp's lanes:
// 16-byte loads of w when `vector` (depth a multiple of 8, w and every in[r] 16-byte aligned),
// then single elements for whatever is left. Weights are read once: past L1 (__ldcs).
template <int kRows, int kWeights, class In>
__device__ inline void gemv_rows(const In* const (&in)[kRows], int n, std::int64_t depth,
                                 const __nv_bfloat16* const (&w)[kWeights], bool vector,
                                 float (&acc)[kWeights][kRows]) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t chunks = vector ? depth / 8 : 0;
#pragma unroll 4
  for (std::int64_t c = lane; c < chunks; c += 32) {
    float wv[kWeights][8];
#pragma unroll
    for (int h = 0; h < kWeights; ++h) {
      unpack8(__ldcs(reinterpret_cast<const uint4*>(w[h]) + c), wv[h]);
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      if (r < n) {
        float xv[8];
        load8(in[r] + c * 8, xv);
#pragma unroll
        for (int h = 0; h < kWeights; ++h) {
#pragma unroll
          for (int i = 0; i < 8; ++i) acc[h][r] = fmaf(wv[h][i], xv[i], acc[h][r]);
        }
      }
    }
  }
  for (std::int64_t k = chunks * 8 + lane; k < depth; k += 32) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      if (r < n) {
        const float xv = product_input(in[r][k]);
#pragma unroll
        for (int h = 0; h < kWeights; ++h) {
          acc[h][r] = fmaf(__bfloat162float(w[h][k]), xv, acc[h][r]);
        }
      }
    }
  }
#pragma unroll
  for (int h = 0; h < kWeights; ++h) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) acc[h][r] = warp_sum(acc[h][r]);
  }
}

// Block (tile, y): feature f = y·kGemvWarps + warp of the tile's expert, for each of its rows:
// activated[row, f] = bf16(silu(gate_f · x[token]) · (up_f · x[token])).
template <int kRows, class X>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gate_up_gemv_kernel(const X* x, std::int64_t hidden, int top_k, const __nv_bfloat16* gate_up,
                        std::int64_t features, bool vector, Grouping g,
                        __nv_bfloat16* activated) {
  Tile tile;
  if (!find_tile(g, kRows, tile)) return;
  const std::int64_t f =
      static_cast<std::int64_t>(blockIdx.y) * kGemvWarps + static_cast<int>(threadIdx.x) / 32;
  if (f >= features) return;  // the whole warp
  const X* in[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int pair = g.rows[tile.first_row + min(r, tile.n - 1)];
    in[r] = x + static_cast<std::int64_t>(pair / top_k) * hidden;
  }
  const __nv_bfloat16* gate = gate_up + (tile.expert * 2 * features + f) * hidden;
  const __nv_bfloat16* const w[2] = {gate, gate + features * hidden};
  float acc[2][kRows] = {};
  gemv_rows<kRows>(in, tile.n, hidden, w, vector, acc);
  if (static_cast<int>(threadIdx.x) % 32 == 0) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      if (r < tile.n) {
        activated[(tile.first_row + r) * features + f] =
            __float2bfloat16_rn(silu_times(acc[0][r], acc[1][r]));
      }
    }
  }
}

// Block (tile, y): hidden output o = y·kGemvWarps + warp of the tile's expert, for each of its
// rows: expert_out[pair, o] = down_o · activated[row].
template <int kRows>
__global__ void __launch_bounds__(kGemvWarps * 32)
    down_gemv_kernel(const __nv_bfloat16* activated, std::int64_t features,
                     const __nv_bfloat16* down, std::int64_t hidden, bool vector, Grouping g,
                     float* expert_out) {
  Tile tile;
  if (!find_tile(g, kRows, tile)) return;
  const std::int64_t o =
      static_cast<std::int64_t>(blockIdx.y) * kGemvWarps + static_cast<int>(threadIdx.x) / 32;
  if (o >= hidden) return;
  const __nv_bfloat16* in[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    in[r] = activated + (tile.first_row + min(r, tile.n - 1)) * features;
  }
  const __nv_bfloat16* const w[1] = {down + (tile.expert * hidden + o) * features};
  float acc[1][kRows] = {};
  gemv_rows<kRows>(in, tile.n, features, w, vector, acc);
  if (static_cast<int>(threadIdx.x) % 32 == 0) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      if (r < tile.n) {
        const std::int64_t pair = g.rows[tile.first_row + r];
        expert_out[pair * hidden + o] = acc[0][r];
      }
    }
  }
}

// --- Products for many tokens (tiled) ---------------------------------------------------------

constexpr int kTileRows = 32;   // rows of one expert per block
constexpr int kTileCols = 64;   // outputs per block
constexpr int kTileDepth = 32;  // inner dimension per shared-memory pass
constexpr int kTileThreads = 256;
// Thread (tx, ty) of a 16 × 16 block computes rows 2·ty, 2·ty + 1 and outputs tx + 16·i, i < 4.
constexpr int kThreadRows = 2;
constexpr int kThreadCols = 4;
static_assert(kTileThreads / 16 * kThreadRows == kTileRows && 16 * kThreadCols == kTileCols);

// acc[h][r][i] = Σ_k in_row(2·ty + r)[k] · w[h] row (tx + 16·i) [k], k < depth: each pass loads
// a kTileRows × kTileDepth tile of the inputs and a kTileCols × kTileDepth tile of each weight
// into shared memory and every thread multiplies from there, so a weight tile is read from
// memory once for all the block's rows. Rows with input_row[r] < 0 and weight rows past `cols`
// read as zeros. input_row holds element offsets into `in` (shared, kTileRows entries).
template <int kWeights, class In>
__device__ inline void tiled_product(const In* in, const std::int64_t* input_row,
                                     std::int64_t depth, const __nv_bfloat16* const (&w)[kWeights],
                                     std::int64_t cols,
                                     float (&acc)[kWeights][kThreadRows][kThreadCols]) {
  __shared__ float in_tile[kTileRows][kTileDepth + 1];  // +1: columns fall in different banks
  __shared__ float w_tile[kWeights][kTileCols][kTileDepth + 1];
  const int tx = static_cast<int>(threadIdx.x) % 16;
  const int ty = static_cast<int>(threadIdx.x) / 16;
  for (std::int64_t k0 = 0; k0 < depth; k0 += kTileDepth) {
    for (int i = static_cast<int>(threadIdx.x); i < kTileRows * kTileDepth; i += kTileThreads) {
      const int r = i / kTileDepth;
      const int k = i % kTileDepth;
      const std::int64_t offset = input_row[r];
      in_tile[r][k] = offset >= 0 && k0 + k < depth ? product_input(in[offset + k0 + k]) : 0.0f;
    }
#pragma unroll
    for (int h = 0; h < kWeights; ++h) {
      for (int i = static_cast<int>(threadIdx.x); i < kTileCols * kTileDepth; i += kTileThreads) {
        const int c = i / kTileDepth;
        const int k = i % kTileDepth;
        w_tile[h][c][k] = c < cols && k0 + k < depth
                              ? __bfloat162float(w[h][c * depth + k0 + k])
                              : 0.0f;
      }
    }
    __syncthreads();
#pragma unroll 8
    for (int k = 0; k < kTileDepth; ++k) {
      float a[kThreadRows];
#pragma unroll
      for (int r = 0; r < kThreadRows; ++r) a[r] = in_tile[ty * kThreadRows + r][k];
#pragma unroll
      for (int h = 0; h < kWeights; ++h) {
#pragma unroll
        for (int i = 0; i < kThreadCols; ++i) {
          const float b = w_tile[h][tx + 16 * i][k];
#pragma unroll
          for (int r = 0; r < kThreadRows; ++r) acc[h][r][i] = fmaf(a[r], b, acc[h][r][i]);
        }
      }
    }
    __syncthreads();
  }
}

// Block (tile, y): features y·kTileCols … of the tile's expert for its rows, as
// gate_up_gemv_kernel computes them.
template <class X>
__global__ void __launch_bounds__(kTileThreads)
    gate_up_tiled_kernel(const X* x, std::int64_t hidden, int top_k,
                         const __nv_bfloat16* gate_up, std::int64_t features, Grouping g,
                         __nv_bfloat16* activated) {
  Tile tile;
  if (!find_tile(g, kTileRows, tile)) return;  // the whole block, before any barrier
  __shared__ std::int64_t input_row[kTileRows];
  if (threadIdx.x < kTileRows) {
    const int r = static_cast<int>(threadIdx.x);
    input_row[r] = r < tile.n
                       ? static_cast<std::int64_t>(g.rows[tile.first_row + r] / top_k) * hidden
                       : -1;
  }
  __syncthreads();
  const std::int64_t f0 = static_cast<std::int64_t>(blockIdx.y) * kTileCols;
  const __nv_bfloat16* gate = gate_up + (tile.expert * 2 * features + f0) * hidden;
  const __nv_bfloat16* const w[2] = {gate, gate + features * hidden};
  float acc[2][kThreadRows][kThreadCols] = {};
  tiled_product(x, input_row, hidden, w, features - f0, acc);
  const int tx = static_cast<int>(threadIdx.x) % 16;
  const int ty = static_cast<int>(threadIdx.x) / 16;
#pragma unroll
  for (int r = 0; r < kThreadRows; ++r) {
    const int row = ty * kThreadRows + r;
    if (row >= tile.n) continue;
#pragma unroll
    for (int i = 0; i < kThreadCols; ++i) {
      const std::int64_t f = f0 + tx + 16 * i;
      if (f < features) {
        activated[(tile.first_row + row) * features + f] =
            __float2bfloat16_rn(silu_times(acc[0][r][i], acc[1][r][i]));
      }
    }
  }
}

// Block (tile, y): hidden outputs y·kTileCols … of the tile's expert for its rows, as
// down_gemv_kernel computes them.
__global__ void __launch_bounds__(kTileThreads)
    down_tiled_kernel(const __nv_bfloat16* activated, std::int64_t features,
                      const __nv_bfloat16* down, std::int64_t hidden, Grouping g,
                      float* expert_out) {
  Tile tile;
  if (!find_tile(g, kTileRows, tile)) return;
  __shared__ std::int64_t input_row[kTileRows];
  if (threadIdx.x < kTileRows) {
    const int r = static_cast<int>(threadIdx.x);
    input_row[r] = r < tile.n ? (tile.first_row + r) * features : -1;
  }
  __syncthreads();
  const std::int64_t o0 = static_cast<std::int64_t>(blockIdx.y) * kTileCols;
  const __nv_bfloat16* const w[1] = {down + (tile.expert * hidden + o0) * features};
  float acc[1][kThreadRows][kThreadCols] = {};
  tiled_product(activated, input_row, features, w, hidden - o0, acc);
  const int tx = static_cast<int>(threadIdx.x) % 16;
  const int ty = static_cast<int>(threadIdx.x) / 16;
#pragma unroll
  for (int r = 0; r < kThreadRows; ++r) {
    const int row = ty * kThreadRows + r;
    if (row >= tile.n) continue;
    const std::int64_t pair = g.rows[tile.first_row + row];
#pragma unroll
    for (int i = 0; i < kThreadCols; ++i) {
      const std::int64_t o = o0 + tx + 16 * i;
      if (o < hidden) expert_out[pair * hidden + o] = acc[0][r][i];
    }
  }
}

// --- Combine ----------------------------------------------------------------------------------

// out[t, h] = Σ_{j < top_k} w[t, j] · expert_out[t·top_k + j, h] over the slots whose expert is
// held, in slot order; 0 for a token with none.
__global__ void combine_kernel(const std::int32_t* experts, const float* weights, int top_k,
                               int first, int count, const float* expert_out,
                               std::int64_t tokens, std::int64_t hidden, float* out) {
  const std::int64_t total = tokens * hidden;
  for (std::int64_t i = global_index(); i < total; i += global_stride()) {
    const std::int64_t t = i / hidden;
    const std::int64_t h = i % hidden;
    float sum = 0.0f;
    for (int j = 0; j < top_k; ++j) {
      const std::int64_t pair = t * top_k + j;
      const std::int32_t e = experts[pair];
      if (e >= first && e - first < count) sum += weights[pair] * expert_out[pair * hidden + h];
    }
    out[i] = sum;
  }
}

__global__ void scale_rows_by_sigmoid_kernel(float* x, std::int64_t rows, std::int64_t width,
                                             const float* gate) {
  const std::int64_t total = rows * width;
  for (std::int64_t i = global_index(); i < total; i += global_stride()) {
    x[i] *= 1.0f / (1.0f + expf(-gate[i / width]));
  }
}

// --- Host side --------------------------------------------------------------------------------

bool few_tokens(const ExpertMixture& m) { return m.tokens <= kGemvTokens; }

// Rows of one expert per tile on the path `m` takes.
int tile_rows(const ExpertMixture& m) { return few_tokens(m) ? kGemvTokens : kTileRows; }

// The most tiles any routing can need. At most min(count, pairs) experts have rows. With few
// tokens each has one tile (a token picks an expert once, so an expert has at most `tokens` rows);
// otherwise each adds at most one partial tile to the pairs' full ones.
std::int64_t max_tiles(const ExpertMixture& m) {
  const std::int64_t pairs = m.tokens * m.top_k;
  const std::int64_t experts_with_rows = m.count < pairs ? m.count : pairs;
  return few_tokens(m) ? experts_with_rows : experts_with_rows + pairs / kTileRows;
}

// The scratch buffer, piece by piece, each piece 256-byte aligned.
struct Scratch {
  std::int32_t* experts = nullptr;
  float* weights = nullptr;
  std::int32_t* offsets = nullptr;
  std::int32_t* rows = nullptr;
  std::int32_t* tiles = nullptr;
  std::int32_t* tile_count = nullptr;
  __nv_bfloat16* activated = nullptr;
  float* expert_out = nullptr;
  std::size_t bytes = 0;
};

Scratch scratch_layout(const ExpertMixture& m, void* base) {
  Scratch s;
  auto* bytes = static_cast<unsigned char*>(base);
  auto take = [&](std::int64_t count, std::size_t element) {
    void* p = bytes ? bytes + s.bytes : nullptr;
    s.bytes += (static_cast<std::size_t>(count) * element + 255) / 256 * 256;
    return p;
  };
  const std::int64_t pairs = m.tokens * m.top_k;
  s.experts = static_cast<std::int32_t*>(take(pairs, sizeof(std::int32_t)));
  s.weights = static_cast<float*>(take(pairs, sizeof(float)));
  s.offsets = static_cast<std::int32_t*>(take(m.count + 1, sizeof(std::int32_t)));
  s.rows = static_cast<std::int32_t*>(take(pairs, sizeof(std::int32_t)));
  s.tiles = static_cast<std::int32_t*>(take(2 * max_tiles(m), sizeof(std::int32_t)));
  s.tile_count = static_cast<std::int32_t*>(take(1, sizeof(std::int32_t)));
  s.activated = static_cast<__nv_bfloat16*>(take(pairs * m.features, sizeof(__nv_bfloat16)));
  s.expert_out = static_cast<float*>(take(pairs * m.hidden, sizeof(float)));
  return s;
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

unsigned blocks_for(std::int64_t outputs, int per_block) {
  return static_cast<unsigned>((outputs + per_block - 1) / per_block);
}

template <int kRows, class X>
void launch_gemv_products(const X* x, const ExpertMixture& m, const Scratch& s, const Grouping& g,
                          cudaStream_t stream) {
  const auto tiles = static_cast<unsigned>(max_tiles(m));
  const bool x_vector = m.hidden % 8 == 0 && aligned16(x) && aligned16(m.gate_up);
  gate_up_gemv_kernel<kRows, X>
      <<<dim3(tiles, blocks_for(m.features, kGemvWarps)), kGemvWarps * 32, 0, stream>>>(
          x, m.hidden, static_cast<int>(m.top_k), m.gate_up, m.features, x_vector, g,
          s.activated);
  const bool down_vector = m.features % 8 == 0 && aligned16(s.activated) && aligned16(m.down);
  down_gemv_kernel<kRows>
      <<<dim3(tiles, blocks_for(m.hidden, kGemvWarps)), kGemvWarps * 32, 0, stream>>>(
          s.activated, m.features, m.down, m.hidden, down_vector, g, s.expert_out);
}

template <class X>
void launch_mixture(const X* x, const float* logits, const ExpertMixture& m, void* scratch,
                    float* out, cudaStream_t stream) {
  if (m.tokens == 0 || m.hidden == 0) return;
  const Scratch s = scratch_layout(m, scratch);
  const auto tokens = static_cast<int>(m.tokens);
  const auto top_k = static_cast<int>(m.top_k);
  const auto pairs = static_cast<int>(m.tokens * m.top_k);
  route_kernel<<<blocks_for(m.tokens, kRouteWarps), kRouteWarps * 32, 0, stream>>>(
      logits, tokens, static_cast<int>(m.num_experts), top_k, m.normalize, s.experts, s.weights);
  if (m.count > 0 && m.features > 0) {
    const Grouping g{s.experts, s.offsets, s.rows, s.tiles, s.tile_count};
    const auto count = static_cast<int>(m.count);
    group_kernel<<<1, kGroupThreads, 3 * m.count * sizeof(std::int32_t), stream>>>(
        pairs, static_cast<int>(m.first), count, tile_rows(m), g);
    if (few_tokens(m)) {
      // Accumulators for as many rows as an expert can have: the token count, rounded up.
      if (m.tokens == 1) {
        launch_gemv_products<1>(x, m, s, g, stream);
      } else if (m.tokens == 2) {
        launch_gemv_products<2>(x, m, s, g, stream);
      } else if (m.tokens <= 4) {
        launch_gemv_products<4>(x, m, s, g, stream);
      } else {
        launch_gemv_products<kGemvTokens>(x, m, s, g, stream);
      }
    } else {
      const auto tiles = static_cast<unsigned>(max_tiles(m));
      gate_up_tiled_kernel<X>
          <<<dim3(tiles, blocks_for(m.features, kTileCols)), kTileThreads, 0, stream>>>(
              x, m.hidden, top_k, m.gate_up, m.features, g, s.activated);
      down_tiled_kernel<<<dim3(tiles, blocks_for(m.hidden, kTileCols)), kTileThreads, 0,
                          stream>>>(s.activated, m.features, m.down, m.hidden, g, s.expert_out);
    }
  }
  combine_kernel<<<grid_for(m.tokens * m.hidden), kThreads, 0, stream>>>(
      s.experts, s.weights, top_k, static_cast<int>(m.first),
      static_cast<int>(m.features > 0 ? m.count : 0), s.expert_out, m.tokens, m.hidden, out);
}

}  // namespace

std::size_t mixture_of_experts_scratch_bytes(const ExpertMixture& m) {
  return scratch_layout(m, nullptr).bytes;
}

void mixture_of_experts_f32(const float* x, const float* router_logits, const ExpertMixture& m,
                            void* scratch, float* out, cudaStream_t stream) {
  launch_mixture(x, router_logits, m, scratch, out, stream);
}

void mixture_of_experts_f32(const __nv_bfloat16* x, const float* router_logits,
                            const ExpertMixture& m, void* scratch, float* out,
                            cudaStream_t stream) {
  launch_mixture(x, router_logits, m, scratch, out, stream);
}

void scale_rows_by_sigmoid_f32(float* x, std::int64_t rows, std::int64_t width, const float* gate,
                               cudaStream_t stream) {
  if (rows * width == 0) return;
  scale_rows_by_sigmoid_kernel<<<grid_for(rows * width), kThreads, 0, stream>>>(x, rows, width,
                                                                               gate);
}

}  // namespace tessera::kernels::cuda
