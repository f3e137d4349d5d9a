// A mixture of experts on the GPU in five launches: route, group, gate/up products, down
// products (those two in expert_products.cu), combine.
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
#include "kernels/cuda/expert_grouping.cuh"
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

constexpr int kGroupThreads = 512;

// One block. Each warp takes experts c, c + warps, …: counts its pairs (a ballot per 32 pairs);
// thread 0 turns the counts into offsets and tile numbers; then each warp writes its pairs' rows
// (a pair's place among its expert's pairs is the number of them before it, so the order is the
// pairs' own) and its tiles of up to rows_per_tile rows.
__global__ void __launch_bounds__(kGroupThreads)
    group_kernel(int pairs, int first, int count, int rows_per_tile, Grouping g) {
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
      tile += (counts[c] + rows_per_tile - 1) / rows_per_tile;
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
    const int tiles = (counts[c] + rows_per_tile - 1) / rows_per_tile;
    for (int t = lane; t < tiles; t += 32) {
      g.tiles[2 * (first_tile[c] + t)] = c;
      g.tiles[2 * (first_tile[c] + t) + 1] = starts[c] + t * rows_per_tile;
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

template <class X>
void launch_mixture(const X* x, const float* logits, const ExpertMixture& m, void* scratch,
                    float* out, cudaStream_t stream) {
  if (m.tokens == 0 || m.hidden == 0) return;
  const Scratch s = scratch_layout(m, scratch);
  const auto tokens = static_cast<int>(m.tokens);
  const auto top_k = static_cast<int>(m.top_k);
  const auto pairs = static_cast<int>(m.tokens * m.top_k);
  const auto route_blocks = static_cast<unsigned>((m.tokens + kRouteWarps - 1) / kRouteWarps);
  route_kernel<<<route_blocks, kRouteWarps * 32, 0, stream>>>(
      logits, tokens, static_cast<int>(m.num_experts), top_k, m.normalize, s.experts, s.weights);
  if (m.count > 0 && m.features > 0) {
    const Grouping g{s.experts, s.offsets, s.rows, s.tiles, s.tile_count};
    const auto count = static_cast<int>(m.count);
    group_kernel<<<1, kGroupThreads, 3 * m.count * sizeof(std::int32_t), stream>>>(
        pairs, static_cast<int>(m.first), count, tile_rows(m), g);
    launch_expert_products(x, m, g, s.activated, s.expert_out, stream);
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
