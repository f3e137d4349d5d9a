// Flash-style causal attention for prefill chunks (see kernels.hpp), on tensor cores.
//
// The per-token kernel of attention.cu reads a sequence's keys and values once per new token: a
// 1024-token prefill reads them 1024 times and does every product on CUDA cores. Here a block
// owns a tile of kRows query rows, the (token, query head) pairs of up to kRows / group
// consecutive new tokens of one sequence and the query heads of one kv head, and walks the
// sequence's positions kKeys at a time: each tile of keys and values is loaded (and rounded to
// bf16) into shared memory once for all those rows. Each of the kWarps warps owns 16 rows and
// computes, with mma.sync m16n8k16 (bf16 in, f32 accumulate), the scores S = Q·Kᵀ of its rows
// against the key tile, an online softmax on S in registers, and O += P·V. The accumulator
// layout of m16n8k16 is the A-operand layout of the next product, so P never leaves registers.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16"), with g = lane / 4 and
// c = lane % 4: A (16×16, row-major) registers hold rows g and g + 8, columns 2c, 2c + 1 and
// 2c + 8, 2c + 9; B (16×8, column-major) holds rows 2c, 2c + 1 and 2c + 8, 2c + 9 of column g;
// the f32 accumulator (16×8) holds rows g (c0, c1) and g + 8 (c2, c3), columns 2c, 2c + 1.
#include <cuda_bf16.h>

#include <cmath>
#include <cstring>

#include "kernels/cuda/kernels.hpp"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "flash_attention.cu needs sm_80 or newer (bf16 mma.sync)"
#endif

namespace tessera::kernels::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = kWarps * 16;  // query rows per block
static_assert(kRows == kFlashTileRows, "kernels.hpp promises this tile height");
constexpr int kKeys = 64;           // positions per key/value tile
constexpr int kMaxDim = 128;        // head_dim up to this, padded to a multiple of 16
constexpr int kKeyPad = 8;          // bf16 padding per shared row: conflict-free fragment loads

constexpr float kLog2e = 1.4426950408889634f;

struct FlashArgs {
  const float* q;
  std::int64_t q_stride;
  const std::int32_t* positions;
  const std::int32_t* block_tables;
  std::int64_t table_stride;
  const FlashTile* tiles;
  std::int64_t heads;
  std::int64_t group;
  std::int64_t tokens_per_tile;
  PagedKvCache kv;
  std::int64_t window;
  float scale_log2;  // softmax scale · log2(e): the softmax runs on exp2
  float* out;
  std::int64_t out_stride;
};

__device__ inline std::uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);  // .x (lo) in the low half
  std::uint32_t bits;
  memcpy(&bits, &pair, sizeof bits);
  return bits;
}

__device__ inline std::uint32_t load_pair(const __nv_bfloat16* p) {
  return *reinterpret_cast<const std::uint32_t*>(p);
}

// d += a · b for one m16n8k16 tile.
__device__ inline void mma_bf16(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two consecutive elements of a cache row, as f32.
__device__ inline float2 load2(const float* p) { return *reinterpret_cast<const float2*>(p); }
__device__ inline float2 load2(const __nv_bfloat16* p) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
}

// kDim: head_dim rounded up to a multiple of 16 (the padding is zeros in Q, K and V, so it adds
// nothing to a score and its outputs are not written).
template <int kDim, class KvT>
__global__ void __launch_bounds__(kThreads) flash_kernel(FlashArgs a) {
  constexpr int kDimTiles = kDim / 8;   // 8-wide output column tiles
  constexpr int kDimSteps = kDim / 16;  // 16-deep steps of Q·Kᵀ
  constexpr int kKeyTiles = kKeys / 8;  // 8-wide score column tiles
  __shared__ __align__(16) __nv_bfloat16 keys[kKeys][kDim + kKeyPad];          // [key][dim]
  __shared__ __align__(16) __nv_bfloat16 values_t[kDim][kKeys + kKeyPad];      // [dim][key]
  __shared__ std::int64_t key_slots[kKeys];

  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  const FlashTile tile = a.tiles[blockIdx.x];
  const std::int64_t kv_head = blockIdx.y;
  const std::int64_t dim = a.kv.head_dim;
  const std::int32_t* table = a.block_tables + tile.sequence * a.table_stride;

  // This lane's two rows (g and g + 8 of the warp's 16): their token, head and position.
  std::int64_t row_token[2];
  std::int64_t row_head[2];
  std::int64_t row_position[2];
  bool row_valid[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const std::int64_t row = warp * 16 + g + 8 * half;
    const std::int64_t local = row / a.group;
    row_valid[half] = local < tile.count && local < a.tokens_per_tile;
    row_token[half] = tile.first_token + (row_valid[half] ? local : 0);
    row_head[half] = kv_head * a.group + row % a.group;
    row_position[half] = row_valid[half] ? a.positions[row_token[half]] : -1;
  }

  // The tile's positions: from the earliest window start to the latest position.
  std::int64_t first = INT64_MAX;
  std::int64_t end = 0;
  for (std::int64_t i = 0; i < tile.count; ++i) {
    const std::int64_t p = a.positions[tile.first_token + i];
    const std::int64_t start = a.window > 0 && p - a.window + 1 > 0 ? p - a.window + 1 : 0;
    first = min(first, start);
    end = max(end, p + 1);
  }

  // Q fragments, rounded to bf16, kept in registers for the whole walk.
  std::uint32_t q_frag[kDimSteps][4];
#pragma unroll
  for (int s = 0; s < kDimSteps; ++s) {
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int half = r % 2;  // registers 0, 2: row g; 1, 3: row g + 8
      const std::int64_t j = 16 * s + 2 * c + 8 * (r / 2);
      float lo = 0.0f;
      float hi = 0.0f;
      if (row_valid[half] && j < dim) {
        const float* q = a.q + row_token[half] * a.q_stride + row_head[half] * dim + j;
        lo = q[0];
        hi = j + 1 < dim ? q[1] : 0.0f;
      }
      q_frag[s][r] = pack_bf16(lo, hi);
    }
  }

  float o[kDimTiles][4];
#pragma unroll
  for (int n = 0; n < kDimTiles; ++n) {
#pragma unroll
    for (int e = 0; e < 4; ++e) o[n][e] = 0.0f;
  }
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_total[2] = {0.0f, 0.0f};  // this lane's share; the quad's shares are summed at the end

  const std::int64_t slot_width = a.kv.kv_heads * dim;
  const auto* k_cache = static_cast<const KvT*>(a.kv.k);
  const auto* v_cache = static_cast<const KvT*>(a.kv.v);
  for (std::int64_t base = first; base < end; base += kKeys) {
    __syncthreads();  // the previous tile's keys and values are no longer read
    if (threadIdx.x < kKeys) {
      const std::int64_t p = base + threadIdx.x;
      key_slots[threadIdx.x] =
          p < end ? static_cast<std::int64_t>(table[p / a.kv.block_size]) * a.kv.block_size +
                        p % a.kv.block_size
                  : -1;
    }
    __syncthreads();
    // Pairs of elements; positions past the end and dimensions past head_dim are zeros (a zero
    // value, not garbage, so a masked position's 0 probability cannot meet a NaN).
    for (int i = static_cast<int>(threadIdx.x); i < kKeys * kDim / 2; i += kThreads) {
      const int key = i / (kDim / 2);
      const int j = 2 * (i % (kDim / 2));
      const std::int64_t slot = key_slots[key];
      float2 kp = make_float2(0.0f, 0.0f);
      float2 vp = make_float2(0.0f, 0.0f);
      if (slot >= 0 && j < dim) {
        const std::int64_t offset = slot * slot_width + kv_head * dim + j;
        kp = load2(k_cache + offset);
        vp = load2(v_cache + offset);
      }
      *reinterpret_cast<__nv_bfloat162*>(&keys[key][j]) = __floats2bfloat162_rn(kp.x, kp.y);
      values_t[j][key] = __float2bfloat16_rn(vp.x);
      values_t[j + 1][key] = __float2bfloat16_rn(vp.y);
    }
    __syncthreads();

    // S = Q · Kᵀ for this warp's 16 rows and the tile's kKeys positions.
    float s[kKeyTiles][4];
#pragma unroll
    for (int n = 0; n < kKeyTiles; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) s[n][e] = 0.0f;
#pragma unroll
      for (int k = 0; k < kDimSteps; ++k) {
        const __nv_bfloat16* key_row = &keys[8 * n + g][16 * k + 2 * c];
        mma_bf16(s[n], q_frag[k], load_pair(key_row), load_pair(key_row + 8));
      }
    }

    // Mask, scale, and the online softmax update of each of the lane's two rows.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < kKeyTiles; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int half = e / 2;
        const std::int64_t p = base + 8 * n + 2 * c + e % 2;
        const std::int64_t last = row_position[half];
        const bool visible =
            p < end && p <= last && (a.window <= 0 || p > last - a.window);
        s[n][e] = visible ? s[n][e] * a.scale_log2 : -INFINITY;
        tile_max[half] = fmaxf(tile_max[half], s[n][e]);
      }
    }
    float correction[2];
    float subtract[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      // The four lanes of a quad hold one row between them.
      tile_max[half] = fmaxf(tile_max[half], __shfl_xor_sync(0xffffffffu, tile_max[half], 1));
      tile_max[half] = fmaxf(tile_max[half], __shfl_xor_sync(0xffffffffu, tile_max[half], 2));
      const float new_max = fmaxf(row_max[half], tile_max[half]);
      // A row that has seen no visible position yet keeps max -inf; subtracting 0 then keeps
      // exp2(-inf) = 0 instead of exp2(-inf + inf) = NaN.
      subtract[half] = new_max == -INFINITY ? 0.0f : new_max;
      correction[half] = exp2f(row_max[half] - subtract[half]);
      row_max[half] = new_max;
      row_total[half] *= correction[half];
    }
#pragma unroll
    for (int n = 0; n < kDimTiles; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) o[n][e] *= correction[e / 2];
    }

    // P in bf16 as A fragments (score tiles 2k and 2k + 1 make the k-th 16 positions), then
    // O += P · V.
#pragma unroll
    for (int k = 0; k < kKeys / 16; ++k) {
      float p[2][4];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          p[h][e] = exp2f(s[2 * k + h][e] - subtract[e / 2]);
          row_total[e / 2] += p[h][e];
        }
      }
      const std::uint32_t p_frag[4] = {pack_bf16(p[0][0], p[0][1]), pack_bf16(p[0][2], p[0][3]),
                                       pack_bf16(p[1][0], p[1][1]), pack_bf16(p[1][2], p[1][3])};
#pragma unroll
      for (int n = 0; n < kDimTiles; ++n) {
        const __nv_bfloat16* value_row = &values_t[8 * n + g][16 * k + 2 * c];
        mma_bf16(o[n], p_frag, load_pair(value_row), load_pair(value_row + 8));
      }
    }
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    row_total[half] += __shfl_xor_sync(0xffffffffu, row_total[half], 1);
    row_total[half] += __shfl_xor_sync(0xffffffffu, row_total[half], 2);
  }
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    if (!row_valid[half]) continue;
    // Every valid row sees at least its own position, so its total is positive.
    const float inv_total = 1.0f / row_total[half];
    float* out = a.out + row_token[half] * a.out_stride + row_head[half] * dim;
#pragma unroll
    for (int n = 0; n < kDimTiles; ++n) {
      const std::int64_t j = 8 * n + 2 * c;
      if (j < dim) out[j] = o[n][2 * half] * inv_total;
      if (j + 1 < dim) out[j + 1] = o[n][2 * half + 1] * inv_total;
    }
  }
}

template <int kDim>
void launch_flash(const FlashArgs& args, dim3 grid, cudaStream_t stream) {
  if (args.kv.storage == KvStorage::bf16) {
    flash_kernel<kDim, __nv_bfloat16><<<grid, kThreads, 0, stream>>>(args);
  } else {
    flash_kernel<kDim, float><<<grid, kThreads, 0, stream>>>(args);
  }
}

}  // namespace

bool flash_attention_supports(std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim) {
  return kv_heads > 0 && heads % kv_heads == 0 && heads / kv_heads <= kRows && head_dim > 0 &&
         head_dim % 2 == 0 && head_dim <= kMaxDim;
}

std::int64_t flash_tokens_per_tile(std::int64_t heads, std::int64_t kv_heads) {
  return kRows / (heads / kv_heads);
}

void flash_prefill_attention_f32(const PagedAttentionBatch& batch, const FlashTile* tiles,
                                 std::int64_t tile_count, std::int64_t heads,
                                 const PagedKvCache& kv, std::int64_t window, float scale,
                                 float* out, std::int64_t out_stride, cudaStream_t stream) {
  if (tile_count == 0 || heads == 0) return;
  const FlashArgs args{batch.q,
                       batch.q_stride,
                       batch.positions,
                       batch.block_tables,
                       batch.table_stride,
                       tiles,
                       heads,
                       heads / kv.kv_heads,
                       flash_tokens_per_tile(heads, kv.kv_heads),
                       kv,
                       window,
                       scale * kLog2e,
                       out,
                       out_stride};
  const dim3 grid(static_cast<unsigned>(tile_count), static_cast<unsigned>(kv.kv_heads));
  if (kv.head_dim <= 32) {
    launch_flash<32>(args, grid, stream);
  } else if (kv.head_dim <= 64) {
    launch_flash<64>(args, grid, stream);
  } else {
    launch_flash<kMaxDim>(args, grid, stream);
  }
}

}  // namespace tessera::kernels::cuda
