// Paged attention over f32 or bf16 keys and values (see kernels.hpp), for decode tokens and
// short prefill chunks (long ones go to flash_attention.cu).
//
// One block per (token, head tile, split). A head tile is up to kMaxTile query heads that share
// one kv head, so each key and value row is read once per tile instead of once per query head
// (GQA). A split is a run of kSplitPositions positions of the token's window: decode batches have
// few tokens, and splitting their positions is what fills the GPU. Inside a block each warp runs
// an online softmax over every kWarps-th position of the split; the warps are merged at the end,
// and the splits by attention_merge_kernel (or in place when there is one split).
//
// A token's result depends only on its own positions and the split length, never on the other
// tokens of the batch, so a sequence gets the same numbers however it is batched.
#include <cmath>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"

namespace tessera::kernels::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
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
  float* out;
  std::int64_t out_stride;
  float* partial_values;  // [tokens, heads, splits, head_dim], with more than one split
  float* partial_stats;   // [tokens, heads, splits, 2]: running max, running total
};

// Each lane owns the head dimensions j = lane + 32 * i (i < kDims), so loads of a key or value
// row are coalesced and no two lanes touch the same accumulator.
template <int kDims, int kTile, class KvT>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionArgs a) {
  __shared__ float warp_values[kWarps][kTile][kDims * 32];
  __shared__ float warp_max[kWarps][kTile];
  __shared__ float warp_total[kWarps][kTile];

  const std::int64_t dim = a.kv.head_dim;
  const std::int64_t group = a.heads / a.kv.kv_heads;
  const std::int64_t tiles_per_group = (group + kTile - 1) / kTile;
  const std::int64_t t = a.token_list ? a.token_list[blockIdx.x] : blockIdx.x;
  const std::int64_t kv_head = blockIdx.y / tiles_per_group;
  const std::int64_t first_head = kv_head * group + (blockIdx.y % tiles_per_group) * kTile;
  const int tile = static_cast<int>(
      min(static_cast<std::int64_t>(kTile), (kv_head + 1) * group - first_head));
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;

  float query[kTile][kDims];
  float acc[kTile][kDims];
  float running_max[kTile];
  float running_total[kTile];
#pragma unroll
  for (int h = 0; h < kTile; ++h) {
    running_max[h] = -INFINITY;
    running_total[h] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDims; ++i) {
      const std::int64_t j = lane + 32 * i;
      query[h][i] = h < tile && j < dim ? a.q[t * a.q_stride + (first_head + h) * dim + j] : 0.0f;
      acc[h][i] = 0.0f;
    }
  }

  const std::int64_t last = a.positions[t];
  const std::int64_t first = a.window > 0 && last - a.window + 1 > 0 ? last - a.window + 1 : 0;
  const std::int64_t begin = first + blockIdx.z * a.split_positions;
  const std::int64_t end = gridDim.z == 1 ? last + 1 : min(begin + a.split_positions, last + 1);
  const std::int32_t* table = a.block_tables + a.token_sequence[t] * a.table_stride;
  const std::int64_t slot_width = a.kv.kv_heads * dim;
  const std::int64_t block_size = a.kv.block_size;

  for (std::int64_t p = begin + warp; p < end; p += kWarps) {
    const std::int64_t slot = static_cast<std::int64_t>(table[p / block_size]) * block_size +
                              p % block_size;
    const KvT* key = static_cast<const KvT*>(a.kv.k) + slot * slot_width + kv_head * dim;
    const KvT* value = static_cast<const KvT*>(a.kv.v) + slot * slot_width + kv_head * dim;
    float k_row[kDims];
    float v_row[kDims];
#pragma unroll
    for (int i = 0; i < kDims; ++i) {
      const std::int64_t j = lane + 32 * i;
      k_row[i] = j < dim ? to_float(key[j]) : 0.0f;
      v_row[i] = j < dim ? to_float(value[j]) : 0.0f;
    }
    float dot[kTile];
#pragma unroll
    for (int h = 0; h < kTile; ++h) {
      dot[h] = 0.0f;
#pragma unroll
      for (int i = 0; i < kDims; ++i) dot[h] += query[h][i] * k_row[i];
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
#pragma unroll
      for (int h = 0; h < kTile; ++h) dot[h] += __shfl_xor_sync(0xffffffffu, dot[h], offset);
    }
#pragma unroll
    for (int h = 0; h < kTile; ++h) {
      if (h >= tile) continue;
      const float score = dot[h] * a.scale;
      const float new_max = fmaxf(running_max[h], score);
      const float correction = expf(running_max[h] - new_max);  // 0 at the first position
      const float weight = expf(score - new_max);
      running_total[h] = running_total[h] * correction + weight;
#pragma unroll
      for (int i = 0; i < kDims; ++i) acc[h][i] = acc[h][i] * correction + weight * v_row[i];
      running_max[h] = new_max;
    }
  }

#pragma unroll
  for (int h = 0; h < kTile; ++h) {
#pragma unroll
    for (int i = 0; i < kDims; ++i) warp_values[warp][h][lane + 32 * i] = acc[h][i];
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
      a.out[t * a.out_stride + head * dim + j] = sum / total;
      continue;
    }
    const std::int64_t index = (t * a.heads + head) * splits + blockIdx.z;
    a.partial_values[index * dim + j] = sum;
    if (j == 0) {
      a.partial_stats[2 * index] = block_max;
      a.partial_stats[2 * index + 1] = total;
    }
  }
}

// One block per (token, head): merges the splits' partial results, in split order.
__global__ void attention_merge_kernel(const float* partial_values, const float* partial_stats,
                                       std::int64_t heads, std::int64_t dim, std::int64_t splits,
                                       const std::int32_t* token_list, float* out,
                                       std::int64_t out_stride) {
  const std::int64_t t = token_list ? token_list[blockIdx.x] : blockIdx.x;
  const std::int64_t head = blockIdx.y;
  const std::int64_t base = (t * heads + head) * splits;
  float global_max = -INFINITY;
  for (std::int64_t s = 0; s < splits; ++s) global_max = fmaxf(global_max, partial_stats[2 * (base + s)]);
  float total = 0.0f;
  for (std::int64_t s = 0; s < splits; ++s) {
    const float m = partial_stats[2 * (base + s)];
    if (m != -INFINITY) total += expf(m - global_max) * partial_stats[2 * (base + s) + 1];
  }
  for (std::int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
    float sum = 0.0f;
    for (std::int64_t s = 0; s < splits; ++s) {
      const float m = partial_stats[2 * (base + s)];
      if (m != -INFINITY) sum += expf(m - global_max) * partial_values[(base + s) * dim + j];
    }
    out[t * out_stride + head * dim + j] = sum / total;
  }
}

template <int kDims, class KvT>
void launch_attention(const AttentionArgs& args, int tile, dim3 grid, cudaStream_t stream) {
  switch (tile) {
    case 1: attention_kernel<kDims, 1, KvT><<<grid, kThreads, 0, stream>>>(args); break;
    case 2: attention_kernel<kDims, 2, KvT><<<grid, kThreads, 0, stream>>>(args); break;
    case 4: attention_kernel<kDims, 4, KvT><<<grid, kThreads, 0, stream>>>(args); break;
    default: attention_kernel<kDims, kMaxTile, KvT><<<grid, kThreads, 0, stream>>>(args); break;
  }
}

template <class KvT>
void launch_attention_for_dims(const AttentionArgs& args, int tile, dim3 grid,
                               cudaStream_t stream) {
  const std::int64_t dims_per_lane = (args.kv.head_dim + 31) / 32;
  if (dims_per_lane <= 1) {
    launch_attention<1, KvT>(args, tile, grid, stream);
  } else if (dims_per_lane <= 2) {
    launch_attention<2, KvT>(args, tile, grid, stream);
  } else if (dims_per_lane <= 4) {
    launch_attention<4, KvT>(args, tile, grid, stream);
  } else {
    launch_attention<kMaxDimPerLane, KvT>(args, tile, grid, stream);
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

void paged_attention_f32(const PagedAttentionBatch& batch, std::int64_t heads,
                         const PagedKvCache& kv, std::int64_t window, float scale,
                         const AttentionSplits& splits, float* out, std::int64_t out_stride,
                         cudaStream_t stream) {
  if (batch.tokens == 0 || heads == 0) return;
  const AttentionArgs args{batch.q,           batch.q_stride,        batch.positions,
                           batch.token_sequence, batch.block_tables, batch.table_stride,
                           batch.token_list,  heads,                 kv,
                           window,            scale,                 splits.positions,
                           out,               out_stride,            splits.partial_values,
                           splits.partial_stats};
  const dim3 grid(static_cast<unsigned>(batch.tokens),
                  static_cast<unsigned>(attention_blocks_per_token(heads, kv.kv_heads)),
                  static_cast<unsigned>(splits.count));
  const int tile = tile_for(heads / kv.kv_heads);
  if (kv.storage == KvStorage::bf16) {
    launch_attention_for_dims<__nv_bfloat16>(args, tile, grid, stream);
  } else {
    launch_attention_for_dims<float>(args, tile, grid, stream);
  }
  if (splits.count > 1) {
    const dim3 merge_grid(static_cast<unsigned>(batch.tokens), static_cast<unsigned>(heads));
    attention_merge_kernel<<<merge_grid, 128, 0, stream>>>(
        splits.partial_values, splits.partial_stats, heads, kv.head_dim, splits.count,
        batch.token_list, out, out_stride);
  }
}

}  // namespace tessera::kernels::cuda
