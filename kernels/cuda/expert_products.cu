// The experts' products of a mixture (see experts.cu for the design): for the tiles the grouping
// listed, gate and up with SiLU·up fused, then down. A GEMV per weight row for a few tokens
// (bandwidth bound: each chosen expert's weights streamed once, 16 bytes a load), a shared-memory
// tiled product for many (each weight tile reused over up to kTileRows rows of its expert).
#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/expert_grouping.cuh"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda::detail {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ inline float silu_times(float gate, float up) {
  return gate / (1.0f + expf(-gate)) * up;
}

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// --- Products for a few tokens (GEMV) ---------------------------------------------------------

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

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

unsigned blocks_for(std::int64_t outputs, int per_block) {
  return static_cast<unsigned>((outputs + per_block - 1) / per_block);
}

template <int kRows, class X>
void launch_gemv_products(const X* x, const ExpertMixture& m, const Grouping& g,
                          __nv_bfloat16* activated, float* expert_out,
                          cudaStream_t stream) {
  const auto tiles = static_cast<unsigned>(max_tiles(m));
  const bool x_vector = m.hidden % 8 == 0 && aligned16(x) && aligned16(m.gate_up);
  gate_up_gemv_kernel<kRows, X>
      <<<dim3(tiles, blocks_for(m.features, kGemvWarps)), kGemvWarps * 32, 0, stream>>>(
          x, m.hidden, static_cast<int>(m.top_k), m.gate_up, m.features, x_vector, g,
          activated);
  const bool down_vector = m.features % 8 == 0 && aligned16(activated) && aligned16(m.down);
  down_gemv_kernel<kRows>
      <<<dim3(tiles, blocks_for(m.hidden, kGemvWarps)), kGemvWarps * 32, 0, stream>>>(
          activated, m.features, m.down, m.hidden, down_vector, g, expert_out);
}

template <class X>
void launch_products(const X* x, const ExpertMixture& m, const Grouping& g,
                     __nv_bfloat16* activated, float* expert_out, cudaStream_t stream) {
  if (few_tokens(m)) {
    // Accumulators for as many rows as an expert can have: the token count, rounded up.
    if (m.tokens == 1) {
      launch_gemv_products<1>(x, m, g, activated, expert_out, stream);
    } else if (m.tokens == 2) {
      launch_gemv_products<2>(x, m, g, activated, expert_out, stream);
    } else if (m.tokens <= 4) {
      launch_gemv_products<4>(x, m, g, activated, expert_out, stream);
    } else {
      launch_gemv_products<kGemvTokens>(x, m, g, activated, expert_out, stream);
    }
    return;
  }
  const auto tiles = static_cast<unsigned>(max_tiles(m));
  gate_up_tiled_kernel<X><<<dim3(tiles, blocks_for(m.features, kTileCols)), kTileThreads, 0,
                            stream>>>(x, m.hidden, static_cast<int>(m.top_k), m.gate_up,
                                      m.features, g, activated);
  down_tiled_kernel<<<dim3(tiles, blocks_for(m.hidden, kTileCols)), kTileThreads, 0, stream>>>(
      activated, m.features, m.down, m.hidden, g, expert_out);
}

}  // namespace

void launch_expert_products(const float* x, const ExpertMixture& m, const Grouping& g,
                            __nv_bfloat16* activated, float* expert_out, cudaStream_t stream) {
  launch_products(x, m, g, activated, expert_out, stream);
}

void launch_expert_products(const __nv_bfloat16* x, const ExpertMixture& m, const Grouping& g,
                            __nv_bfloat16* activated, float* expert_out, cudaStream_t stream) {
  launch_products(x, m, g, activated, expert_out, stream);
}

}  // namespace tessera::kernels::cuda::detail
