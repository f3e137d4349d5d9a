// Paged attention over f32 or bf16 keys and values (see kernels.hpp), for decode tokens and
// short prefill chunks (long ones go to flash_attention.cu).
//
// One block per (token, head tile, split). A head tile is up to kMaxTile query heads that share
// one kv head, so each key and value row is read once per tile instead of once per query head
// (GQA). A split is a run of kSplitPositions positions of the token's window: decode batches have
// few tokens, and splitting their positions is what fills the GPU. Inside a block each of its 4
// or 8 warps runs an online softmax over every kWarps-th run of positions of the split; the
// warps are merged at the end, and the splits by the last block of the token's head tile to
// finish.
//
// A token's result depends only on its own positions and the split length, never on the other
// tokens of the batch, so a sequence gets the same numbers however it is batched.
#include <cmath>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/overlap.cuh"

namespace tessera::kernels::cuda {
namespace {

// Warps per block, 4 or 8. The warps of a block walk its runs of positions side by side, then
// share the merges: at batch 64 and 160 positions a block has 5 runs of 32, which 4 warps took
// in two rounds, and a batch-1 step is a few dozen blocks whose merges 8 warps finish sooner.
// But 8 warps need more shared memory (at most a tile of query heads times dimensions per lane
// of 16, such as GQA groups of 4 heads of 128), and twice the registers of a block: where a
// small batch's blocks do not all fit on the multiprocessors at once (AttentionSplits::
// wide_blocks false; its runs are short, so half of 8 warps would idle) they take 4, and more
// of them fit side by side.
template <int kDims, int kTile>
constexpr bool kEightWarpsFit = kTile * kDims <= 16;
constexpr int kMaxTile = 8;         // query heads per block
constexpr int kMaxDimPerLane = 8;   // head_dim up to 256

// Query heads per block: the group (query heads per kv head) rounded up to a power of two, at
// most kMaxTile; larger groups take several blocks.
int tile_for(std::int64_t group) {
  int tile = 1;
  while (tile < kMaxTile && tile < group) tile *= 2;
  return tile;
}

using detail::from_float;
using detail::to_float;

template <class KvT>
__global__ void store_kv_kernel(const float* k_src, const float* v_src, std::int64_t stride,
                                const std::int32_t* slots, KvT* k, KvT* v, std::int64_t width) {
  const std::int64_t t = blockIdx.x;
  const std::int64_t offset = static_cast<std::int64_t>(slots[t]) * width;
  for (std::int64_t i = threadIdx.x; i < width; i += blockDim.x) {
    k[offset + i] = from_float<KvT>(k_src[t * stride + i]);
    v[offset + i] = from_float<KvT>(v_src[t * stride + i]);
  }
}

// An output element: f32, or bf16 when the output feeds a product that rounds to bf16 anyway.
__device__ inline void store_output(void* out, bool out_bf16, std::int64_t index, float value) {
  if (out_bf16) {
    static_cast<__nv_bfloat16*>(out)[index] = __float2bfloat16_rn(value);
  } else {
    static_cast<float*>(out)[index] = value;
  }
}

struct AttentionArgs {
  const float* q;
  std::int64_t q_stride;
  const std::int32_t* positions;
  const std::int32_t* token_sequence;
  const std::int32_t* block_tables;
  std::int64_t table_stride;
  const std::int32_t* token_list;  // null: block x is token x
  std::int64_t heads;
  PagedKvCache kv;
  std::int64_t window;
  float scale;
  std::int64_t split_positions;
  void* out;              // [tokens, out_stride], f32 or (out_bf16) bf16
  bool out_bf16;
  std::int64_t out_stride;
  float* partial_values;  // [tokens, heads, splits, head_dim], with more than one split
  float* partial_stats;   // [tokens, heads, splits, 2]: running max, running total
  unsigned* split_counters;  // [grid x, grid y], with more than one split
};

// kCount consecutive elements of a cache row as f32: one vector load when all are inside the
// row and aligned for it, element by element otherwise (head sizes that are not a multiple).
template <int kCount, class KvT>
__device__ inline void load_run(const KvT* p, int inside, float (&out)[kCount]) {
  struct alignas(kCount * sizeof(KvT)) Run {
    KvT v[kCount];
  };
  if (inside >= kCount && reinterpret_cast<std::uintptr_t>(p) % sizeof(Run) == 0) {
    const Run run = *reinterpret_cast<const Run*>(p);
#pragma unroll
    for (int i = 0; i < kCount; ++i) out[i] = to_float(run.v[i]);
  } else {
#pragma unroll
    for (int i = 0; i < kCount; ++i) out[i] = i < inside ? to_float(p[i]) : 0.0f;
  }
}

// A warp walks its split kRunPositions positions at a time, kGroup lanes per position: the lanes
// of a group split the key row between them (16 bytes at a time, the queries from shared memory)
// and add their partial scores; then the warp adds the value rows in position order, each lane
// owning kDims consecutive dimensions. The earlier design (one position per warp, each score
// reduced across all 32 lanes) spent most of its instructions on shuffles and index arithmetic:
// 50 µs per layer at 64 sequences. A batch that fills the GPU walks long runs and takes a whole
// key row per lane (kGroup 1: no shuffles, one softmax update per 32 positions); a small batch
// is split into short runs that would leave three of four warps idle that way, so it takes four
// lanes per position (AttentionSplits::spread_positions). Partial scores are summed in a fixed
// order and the softmax is online per run, so a token's result depends only on its own
// positions and how its batch is split.
template <int kDims, int kTile, int kGroup, int kWarps, class KvT>
__global__ void __launch_bounds__(kWarps * 32) attention_kernel(AttentionArgs a) {
  static_assert(kWarps == 4 || (kWarps == 8 && kEightWarpsFit<kDims, kTile>));
  constexpr int kThreads = kWarps * 32;
  constexpr int kRun = 8;  // key elements per load in the score loop
  constexpr int kRunPositions = 32 / kGroup;
  __shared__ __align__(16) float queries[kTile][kDims * 32];
  __shared__ float warp_values[kWarps][kTile][kDims * 32];
  __shared__ float warp_max[kWarps][kTile];
  __shared__ float warp_total[kWarps][kTile];

  const int dim = static_cast<int>(a.kv.head_dim);
  const std::int64_t group = a.heads / a.kv.kv_heads;
  const std::int64_t tiles_per_group = (group + kTile - 1) / kTile;
  const std::int64_t t = a.token_list ? a.token_list[blockIdx.x] : blockIdx.x;
  const std::int64_t kv_head = blockIdx.y / tiles_per_group;
  const std::int64_t first_head = kv_head * group + (blockIdx.y % tiles_per_group) * kTile;
  const int tile = static_cast<int>(
      min(static_cast<std::int64_t>(kTile), (kv_head + 1) * group - first_head));
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  detail::let_next_kernel_start();
  detail::wait_for_previous_kernel();

  // The tile's queries, zero past head_dim and past the tile's heads.
  for (int e = static_cast<int>(threadIdx.x); e < kTile * kDims * 32; e += kThreads) {
    const int h = e / (kDims * 32);
    const int j = e % (kDims * 32);
    queries[h][j] = h < tile && j < dim ? a.q[t * a.q_stride + (first_head + h) * dim + j] : 0.0f;
  }
  __syncthreads();

  const int last = a.positions[t];
  const int first = a.window > 0 && last - a.window + 1 > 0 ? last - static_cast<int>(a.window) + 1 : 0;
  const int begin = first + static_cast<int>(blockIdx.z * a.split_positions);
  const int end = gridDim.z == 1 ? last + 1
                                 : min(begin + static_cast<int>(a.split_positions), last + 1);
  const std::int32_t* table = a.block_tables + a.token_sequence[t] * a.table_stride;
  const std::int64_t slot_width = a.kv.kv_heads * dim;
  const int block_size = static_cast<int>(a.kv.block_size);
  const auto* k_cache = static_cast<const KvT*>(a.kv.k) + kv_head * dim;
  const auto* v_cache = static_cast<const KvT*>(a.kv.v) + kv_head * dim;
  const int my_dims = min(kDims, max(0, dim - lane * kDims));  // of this lane's kDims

  float acc[kTile][kDims];
  float running_max[kTile];  // the same in every lane
  float running_total[kTile];  // this lane's share
#pragma unroll
  for (int h = 0; h < kTile; ++h) {
    running_max[h] = -INFINITY;
    running_total[h] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDims; ++i) acc[h][i] = 0.0f;
  }

  const int member = lane % kGroup;  // this lane's part of its position's key row
  for (int run_start = begin + kRunPositions * warp; run_start < end;
       run_start += kRunPositions * kWarps) {
    const int count = min(kRunPositions, end - run_start);  // positions in this run
    const int p = run_start + lane / kGroup;
    const std::int64_t row =
        lane / kGroup < count ? (static_cast<std::int64_t>(table[p / block_size]) * block_size +
                                 p % block_size) * slot_width
                              : -1;

    // Scores of this lane's position.
    float score[kTile];
#pragma unroll
    for (int h = 0; h < kTile; ++h) score[h] = 0.0f;
    if (row >= 0) {
      const KvT* key = k_cache + row;
      // A whole key row per lane (kGroup 1) keeps 8 loads in flight; with four lanes per
      // position a row is only a few loads per lane, and a deeper unroll costs registers
      // (96 -> 168) and with them blocks per multiprocessor.
#pragma unroll(kGroup == 1 ? 8 : 4)
      for (int c = member * kRun; c < dim; c += kRun * kGroup) {
        float k[kRun];
        load_run<kRun>(key + c, dim - c, k);
#pragma unroll
        for (int h = 0; h < kTile; ++h) {
          const float4 q_lo = *reinterpret_cast<const float4*>(&queries[h][c]);
          const float4 q_hi = *reinterpret_cast<const float4*>(&queries[h][c + 4]);
          score[h] = fmaf(q_lo.x, k[0], score[h]);
          score[h] = fmaf(q_lo.y, k[1], score[h]);
          score[h] = fmaf(q_lo.z, k[2], score[h]);
          score[h] = fmaf(q_lo.w, k[3], score[h]);
          score[h] = fmaf(q_hi.x, k[4], score[h]);
          score[h] = fmaf(q_hi.y, k[5], score[h]);
          score[h] = fmaf(q_hi.z, k[6], score[h]);
          score[h] = fmaf(q_hi.w, k[7], score[h]);
        }
      }
    }

#pragma unroll
    for (int offset = kGroup / 2; offset > 0; offset /= 2) {
#pragma unroll
      for (int h = 0; h < kTile; ++h) score[h] += __shfl_xor_sync(0xffffffffu, score[h], offset);
    }

    // Online softmax over the run: one new maximum per head for its positions. Every lane of a
    // group holds its position's weight; the first one counts it in the total.
    float weight[kTile];
#pragma unroll
    for (int h = 0; h < kTile; ++h) {
      const float scaled = row >= 0 ? score[h] * a.scale : -INFINITY;
      float run_max = scaled;
#pragma unroll
      for (int offset = 16; offset > 0; offset /= 2) {
        run_max = fmaxf(run_max, __shfl_xor_sync(0xffffffffu, run_max, offset));
      }
      const float new_max = fmaxf(running_max[h], run_max);  // finite: count >= 1
      const float correction = expf(running_max[h] - new_max);  // 0 on the first run
      weight[h] = row >= 0 ? expf(scaled - new_max) : 0.0f;
      running_total[h] = running_total[h] * correction + (member == 0 ? weight[h] : 0.0f);
#pragma unroll
      for (int i = 0; i < kDims; ++i) acc[h][i] *= correction;
      running_max[h] = new_max;
    }

    // Values, in position order, kRows rows in flight.
    constexpr int kRows = 8;
    for (int q0 = 0; q0 < count; q0 += kRows) {
      float v[kRows][kDims];
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const std::int64_t row_r = __shfl_sync(0xffffffffu, row, ((q0 + r) * kGroup) & 31);
        if (q0 + r < count) {
          load_run<kDims>(v_cache + row_r + lane * kDims, my_dims, v[r]);
        } else {
#pragma unroll
          for (int i = 0; i < kDims; ++i) v[r][i] = 0.0f;
        }
      }
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
#pragma unroll
        for (int h = 0; h < kTile; ++h) {
          const float w = __shfl_sync(0xffffffffu, weight[h], ((q0 + r) * kGroup) & 31);
#pragma unroll
          for (int i = 0; i < kDims; ++i) acc[h][i] = fmaf(w, v[r][i], acc[h][i]);
        }
      }
    }
  }
#pragma unroll
  for (int h = 0; h < kTile; ++h) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      running_total[h] += __shfl_xor_sync(0xffffffffu, running_total[h], offset);
    }
  }

#pragma unroll
  for (int h = 0; h < kTile; ++h) {
#pragma unroll
    for (int i = 0; i < kDims; ++i) warp_values[warp][h][lane * kDims + i] = acc[h][i];
  }
  if (lane == 0) {
#pragma unroll
    for (int h = 0; h < kTile; ++h) {
      warp_max[warp][h] = running_max[h];
      warp_total[warp][h] = running_total[h];
    }
  }
  __syncthreads();

  const std::int64_t splits = gridDim.z;
  for (std::int64_t e = threadIdx.x; e < tile * dim; e += kThreads) {
    const int h = static_cast<int>(e / dim);
    const std::int64_t j = e % dim;
    float block_max = -INFINITY;
    for (int w = 0; w < kWarps; ++w) block_max = fmaxf(block_max, warp_max[w][h]);
    float total = 0.0f;
    float sum = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      // A warp that saw no position has max -inf and total 0: it contributes nothing.
      const float s = warp_max[w][h] == -INFINITY ? 0.0f : expf(warp_max[w][h] - block_max);
      total += s * warp_total[w][h];
      sum += s * warp_values[w][h][j];
    }
    const std::int64_t head = first_head + h;
    if (splits == 1) {
      store_output(a.out, a.out_bf16, t * a.out_stride + head * dim + j, sum / total);
      continue;
    }
    const std::int64_t index = (t * a.heads + head) * splits + blockIdx.z;
    a.partial_values[index * dim + j] = sum;
    if (j == 0) {
      a.partial_stats[2 * index] = block_max;
      a.partial_stats[2 * index + 1] = total;
    }
  }
  if (splits == 1) return;

  // The last split of this (token, head tile) to finish merges them all, in split order: a
  // separate merge kernel cost a launch per layer, as much as the attention itself at batch 1.
  // Each block publishes its partials before it counts itself in (the fence), and the last one
  // reads them past L1 (__ldcg), so it sees every other block's writes.
  __shared__ bool merge_here;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    unsigned* counter = a.split_counters + blockIdx.x * gridDim.y + blockIdx.y;
    merge_here = atomicAdd(counter, 1u) == static_cast<unsigned>(splits - 1);
    if (merge_here) *counter = 0;  // zero again for the next launch (graph replays reuse it)
  }
  __syncthreads();
  if (!merge_here) return;
  __threadfence();
  for (std::int64_t e = threadIdx.x; e < tile * dim; e += kThreads) {
    const std::int64_t head = first_head + e / dim;
    const std::int64_t j = e % dim;
    const std::int64_t base = (t * a.heads + head) * splits;
    float global_max = -INFINITY;
    for (std::int64_t z = 0; z < splits; ++z) {
      global_max = fmaxf(global_max, __ldcg(a.partial_stats + 2 * (base + z)));
    }
    float total = 0.0f;
    float sum = 0.0f;
    for (std::int64_t z = 0; z < splits; ++z) {
      const float m = __ldcg(a.partial_stats + 2 * (base + z));
      if (m == -INFINITY) continue;  // a split that saw no position
      const float weight = expf(m - global_max);
      total += weight * __ldcg(a.partial_stats + 2 * (base + z) + 1);
      sum += weight * __ldcg(a.partial_values + (base + z) * dim + j);
    }
    store_output(a.out, a.out_bf16, t * a.out_stride + head * dim + j, sum / total);
  }
}

template <int kDims, int kTile, int kGroup, class KvT>
void launch_shape(const AttentionArgs& args, bool wide, dim3 grid, cudaStream_t stream) {
  const auto launch = [&](auto kernel, int warps) {
    detail::launch_overlapped(kernel, grid, warps * 32, 0, stream, args);
  };
  if constexpr (kEightWarpsFit<kDims, kTile> && kGroup == 1) {
    launch(attention_kernel<kDims, kTile, kGroup, 8, KvT>, 8);
  } else if constexpr (kEightWarpsFit<kDims, kTile>) {
    if (wide) {
      launch(attention_kernel<kDims, kTile, kGroup, 8, KvT>, 8);
    } else {
      launch(attention_kernel<kDims, kTile, kGroup, 4, KvT>, 4);
    }
  } else {
    launch(attention_kernel<kDims, kTile, kGroup, 4, KvT>, 4);
  }
}

template <int kDims, int kGroup, class KvT>
void launch_tile(const AttentionArgs& args, int tile, bool wide, dim3 grid,
                 cudaStream_t stream) {
  switch (tile) {
    case 1: launch_shape<kDims, 1, kGroup, KvT>(args, wide, grid, stream); break;
    case 2: launch_shape<kDims, 2, kGroup, KvT>(args, wide, grid, stream); break;
    case 4: launch_shape<kDims, 4, kGroup, KvT>(args, wide, grid, stream); break;
    default: launch_shape<kDims, kMaxTile, kGroup, KvT>(args, wide, grid, stream); break;
  }
}

template <int kDims, class KvT>
void launch_attention(const AttentionArgs& args, int tile, const AttentionSplits& splits,
                      dim3 grid, cudaStream_t stream) {
  if (splits.spread_positions) {
    launch_tile<kDims, 4, KvT>(args, tile, splits.wide_blocks, grid, stream);
  } else {
    launch_tile<kDims, 1, KvT>(args, tile, splits.wide_blocks, grid, stream);
  }
}

template <class KvT>
void launch_attention_for_dims(const AttentionArgs& args, int tile, const AttentionSplits& splits,
                               dim3 grid, cudaStream_t stream) {
  const std::int64_t dims_per_lane = (args.kv.head_dim + 31) / 32;
  if (dims_per_lane <= 1) {
    launch_attention<1, KvT>(args, tile, splits, grid, stream);
  } else if (dims_per_lane <= 2) {
    launch_attention<2, KvT>(args, tile, splits, grid, stream);
  } else if (dims_per_lane <= 4) {
    launch_attention<4, KvT>(args, tile, splits, grid, stream);
  } else {
    launch_attention<kMaxDimPerLane, KvT>(args, tile, splits, grid, stream);
  }
}

}  // namespace

void store_kv_f32(const float* k_src, const float* v_src, std::int64_t tokens, std::int64_t stride,
                  const std::int32_t* slots, const PagedKvCache& kv, cudaStream_t stream) {
  if (tokens == 0) return;
  const std::int64_t width = kv.kv_heads * kv.head_dim;
  const auto blocks = static_cast<unsigned>(tokens);
  if (kv.storage == KvStorage::bf16) {
    store_kv_kernel<<<blocks, 128, 0, stream>>>(k_src, v_src, stride, slots,
                                                static_cast<__nv_bfloat16*>(kv.k),
                                                static_cast<__nv_bfloat16*>(kv.v), width);
  } else {
    store_kv_kernel<<<blocks, 128, 0, stream>>>(k_src, v_src, stride, slots,
                                                static_cast<float*>(kv.k),
                                                static_cast<float*>(kv.v), width);
  }
}

std::int64_t attention_blocks_per_token(std::int64_t heads, std::int64_t kv_heads) {
  const std::int64_t group = heads / kv_heads;
  const int tile = tile_for(group);
  return kv_heads * ((group + tile - 1) / tile);
}

bool attention_supports_head_dim(std::int64_t head_dim) {
  return head_dim > 0 && head_dim <= 32 * kMaxDimPerLane;
}

namespace {

void launch_paged_attention(const PagedAttentionBatch& batch, std::int64_t heads,
                            const PagedKvCache& kv, std::int64_t window, float scale,
                            const AttentionSplits& splits, void* out, bool out_bf16,
                            std::int64_t out_stride, cudaStream_t stream) {
  if (batch.tokens == 0 || heads == 0) return;
  const AttentionArgs args{batch.q,           batch.q_stride,        batch.positions,
                           batch.token_sequence, batch.block_tables, batch.table_stride,
                           batch.token_list,  heads,                 kv,
                           window,            scale,                 splits.positions,
                           out,               out_bf16,              out_stride,
                           splits.partial_values, splits.partial_stats, splits.counters};
  const dim3 grid(static_cast<unsigned>(batch.tokens),
                  static_cast<unsigned>(attention_blocks_per_token(heads, kv.kv_heads)),
                  static_cast<unsigned>(splits.count));
  const int tile = tile_for(heads / kv.kv_heads);
  if (kv.storage == KvStorage::bf16) {
    launch_attention_for_dims<__nv_bfloat16>(args, tile, splits, grid, stream);
  } else {
    launch_attention_for_dims<float>(args, tile, splits, grid, stream);
  }
}

}  // namespace

void paged_attention_f32(const PagedAttentionBatch& batch, std::int64_t heads,
                         const PagedKvCache& kv, std::int64_t window, float scale,
                         const AttentionSplits& splits, float* out, std::int64_t out_stride,
                         cudaStream_t stream) {
  launch_paged_attention(batch, heads, kv, window, scale, splits, out, false, out_stride, stream);
}

void paged_attention_f32(const PagedAttentionBatch& batch, std::int64_t heads,
                         const PagedKvCache& kv, std::int64_t window, float scale,
                         const AttentionSplits& splits, __nv_bfloat16* out,
                         std::int64_t out_stride, cudaStream_t stream) {
  launch_paged_attention(batch, heads, kv, window, scale, splits, out, true, out_stride, stream);
}

}  // namespace tessera::kernels::cuda
