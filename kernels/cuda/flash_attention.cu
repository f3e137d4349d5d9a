// Flash-style causal attention for prefill chunks (see kernels.hpp), on tensor cores.
//
// A block owns a tile of kRows query rows (the (token, query head) pairs of up to kRows / group
// consecutive new tokens of one sequence and the query heads of one kv head) and walks the
// sequence's positions kKeys at a time, reading each tile of keys and values once for all those
// rows (the per-token kernel of attention.cu reads them once per token). Each of the kWarps warps
// owns 16 rows and runs, on mma.sync m16n8k16 (bf16 in, f32 accumulate), S = Q·Kᵀ, an online
// softmax in registers and O += P·V; the accumulator layout is the A layout of the next product,
// so P never leaves registers.
//
// Loading used to be the cost (372 µs per Llama-3-8B layer at 1024 tokens, for a few tens of µs
// of math: 4-byte loads with 64-bit index math, a bank-conflicting transposed store of V, no
// overlap). A bf16 cache is copied with cp.async, 16 bytes at a time, into two shared-memory
// stages: the next tile is in flight while this one is computed, one barrier per tile. V stays
// [key][dim]; ldmatrix.trans transposes it into B fragments. An f32 cache (tests), or a bf16
// cache not aligned for 16-byte copies, is converted synchronously into the same stages.
//
// Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16"), g = lane / 4, c = lane % 4: A holds
// rows g, g + 8 at columns 2c, 2c + 1, then at 2c + 8, 2c + 9; B rows 2c, 2c + 1 (b0) and 2c + 8,
// 2c + 9 (b1) of column g; C rows g (c0, c1) and g + 8 (c2, c3) at columns 2c, 2c + 1.
// ldmatrix.x4: lanes 8m..8m + 7 address matrix m's rows, and lane t gets, in register m, row
// t / 4, columns 2(t % 4), 2(t % 4) + 1 of matrix m (with .trans, of its transpose).
#include <cuda_bf16.h>

#include <atomic>
#include <cmath>
#include <type_traits>

#include "kernels/cuda/element.cuh"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/tensor_core.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "flash_attention.cu needs sm_80 or newer (bf16 mma.sync, cp.async)"
#endif

namespace tessera::kernels::cuda {
namespace {

using detail::copy_async;
using detail::copy_async_commit;
using detail::copy_async_wait;
using detail::load2;
using detail::load_matrices;
using detail::mma_bf16;
using detail::pack_bf16;
using detail::store_pair;
using detail::store_shared;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = kWarps * 16;  // query rows per block
static_assert(kRows == kFlashTileRows, "kernels.hpp promises this tile height");
constexpr int kKeys = 64;           // positions per key/value tile
constexpr int kMaxDim = 128;        // head_dim up to this, padded to a multiple of 16
constexpr float kLog2e = 1.4426950408889634f;

// A shared row is kDim bf16 and 8 of padding: rows start 16 bytes apart modulo 128 (kDim 32: 80
// bytes apart, also eight bank groups), so an ldmatrix phase's eight row reads hit distinct banks
// and rows stay 16-byte aligned. A stage is a key tile, then a value tile.
template <int kDim>
constexpr int kRowBytes = (kDim + 8) * 2;
template <int kDim>
constexpr int kTileBytes = kKeys * kRowBytes<kDim>;
template <int kDim>
constexpr int kStageBytes = 2 * kTileBytes<kDim>;

struct FlashArgs {
  const float* q;
  std::int64_t q_stride;
  const std::int32_t* positions;
  const std::int32_t* block_tables;
  std::int64_t table_stride;
  const FlashTile* tiles;
  int group;
  int tokens_per_tile;
  PagedKvCache kv;
  bool async_copy;   // a bf16 cache with 16-byte aligned rows
  std::int64_t window;
  float scale_log2;  // softmax scale · log2(e): the softmax runs on exp2
  void* out;         // the kernel's OutT
  std::int64_t out_stride;
};

// One lane's share of copying a tile, in 16-byte chunks (8 elements), kChunks per row: in pass
// i, lane l of warp w copies chunk l % kChunks of row kPassRows·i + kWarpRows·w + l / kChunks, 16
// rows per warp. Lane o < 16 finds the slot of the o-th of them (owned_row); the lanes copying
// that row take it by shuffle: one block-table lookup per row, not per chunk.
template <int kDim, class KvT>
struct TileCopier {
  static constexpr int kChunks = kDim / 8;
  static constexpr int kWarpRows = 32 / kChunks;
  static constexpr int kPassRows = kWarps * kWarpRows;
  static constexpr int kPasses = kKeys / kPassRows;
  static_assert(kWarpRows * kPasses == 16, "each of lanes 0..15 owns one row");

  const char* k_source;      // this lane's chunk of the kv head in slot 0
  const char* v_source;
  std::uint32_t slot_bytes;  // from one slot to the next
  std::uint32_t dst;         // this lane's chunk of its pass-0 row, from the stage's start
  int row_lane;              // the owner of this lane's pass-0 row
  int pairs;                 // element pairs of the chunk inside head_dim (0 to 4)

  __device__ static int owned_row(int warp, int owner) {
    return kPassRows * (owner / kWarpRows) + kWarpRows * warp + owner % kWarpRows;
  }

  __device__ TileCopier(const PagedKvCache& kv, int kv_head, int warp, int lane) {
    const int dim = static_cast<int>(kv.head_dim);
    const int j = 8 * (lane % kChunks);
    pairs = max(min((dim - j) / 2, 4), 0);
    const int row_j = kv_head * dim + (pairs > 0 ? j : 0);  // padding reads nothing, in-row
    k_source = static_cast<const char*>(kv.k) + row_j * sizeof(KvT);
    v_source = static_cast<const char*>(kv.v) + row_j * sizeof(KvT);
    slot_bytes = static_cast<std::uint32_t>(kv.kv_heads * dim * sizeof(KvT));
    row_lane = lane / kChunks;
    dst = (kWarpRows * warp + row_lane) * kRowBytes<kDim> + 2 * j;
  }

  // Copies a tile into the stage at shared address `stage`; slot: this lane's owned row's slot,
  // -1 past the end. Rows past the end and dimensions past head_dim become zeros: a masked
  // position's 0 probability must not meet garbage that could be a NaN.
  __device__ std::uint64_t offset(int row_slot) const {
    return std::uint64_t{static_cast<std::uint32_t>(max(row_slot, 0))} * slot_bytes;
  }
  __device__ void copy(std::uint32_t stage, int slot, bool async) const {
    if (std::is_same_v<KvT, __nv_bfloat16> && async) {
#pragma unroll
      for (int pass = 0; pass < kPasses; ++pass) {
        const int row_slot = __shfl_sync(0xffffffffu, slot, kWarpRows * pass + row_lane);
        const std::uint32_t at = stage + dst + pass * kPassRows * kRowBytes<kDim>;
        const bool present = row_slot >= 0 && pairs > 0;  // head_dim % 8 == 0: all or nothing
        copy_async(at, k_source + offset(row_slot), present);
        copy_async(at + kTileBytes<kDim>, v_source + offset(row_slot), present);
      }
      return;
    }
    // Synchronously, two passes at a time: a whole tile's loads in flight would need the
    // accumulators' registers (it spilled with kDim 128 and an f32 cache).
#pragma unroll 2
    for (int pass = 0; pass < kPasses; ++pass) {
      const int row_slot = __shfl_sync(0xffffffffu, slot, kWarpRows * pass + row_lane);
      const std::uint32_t at = stage + dst + pass * kPassRows * kRowBytes<kDim>;
      const auto* k = reinterpret_cast<const KvT*>(k_source + offset(row_slot));
      const auto* v = reinterpret_cast<const KvT*>(v_source + offset(row_slot));
      std::uint32_t k_bits[4];
      std::uint32_t v_bits[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const bool present = row_slot >= 0 && e < pairs;  // head_dim is even
        const float2 kp = present ? load2(k + 2 * e) : make_float2(0.0f, 0.0f);
        const float2 vp = present ? load2(v + 2 * e) : make_float2(0.0f, 0.0f);
        k_bits[e] = pack_bf16(kp.x, kp.y);
        v_bits[e] = pack_bf16(vp.x, vp.y);
      }
      store_shared(at, k_bits);
      store_shared(at + kTileBytes<kDim>, v_bits);
    }
  }
};

// kDim: head_dim rounded up to a multiple of 16 (the padding is zeros in Q, K and V, so it adds
// nothing to a score and its outputs are not written). Two blocks per multiprocessor at kDim 128
// (all that sm_80's shared memory holds), three below: the register budget follows from it.
template <int kDim, class KvT, class OutT>
__global__ void __launch_bounds__(kThreads, kDim > 64 ? 2 : 3) flash_kernel(FlashArgs a) {
  constexpr int kDimTiles = kDim / 8;   // 8-wide output column tiles
  constexpr int kDimSteps = kDim / 16;  // 16-deep steps of Q·Kᵀ
  constexpr int kKeyTiles = kKeys / 8;  // 8-wide score column tiles
  constexpr int kRow = kRowBytes<kDim>;
  using Copier = TileCopier<kDim, KvT>;
  extern __shared__ __align__(16) unsigned char stages[];  // 2 · kStageBytes

  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4;
  const int c = lane % 4;
  // Block b is kv head b % kv_heads of tile b / kv_heads: blocks start in the caller's order.
  const int kv_heads = static_cast<int>(a.kv.kv_heads);
  const FlashTile tile = a.tiles[blockIdx.x / kv_heads];
  const int kv_head = static_cast<int>(blockIdx.x % kv_heads);
  const int dim = static_cast<int>(a.kv.head_dim);
  const std::int32_t* table = a.block_tables + tile.sequence * a.table_stride;
  const auto shared_base = static_cast<std::uint32_t>(__cvta_generic_to_shared(stages));

  // A chain of loads (tile, positions, block table, keys and values) precedes the first product;
  // what does not depend on it goes first. Queries: each warp loads its 16 rows a row at a time,
  // coalesced (lane r < 16 finds row r, none for a padding row; lane j loads dims j + 32i).
  float q_values[16][kDim / 32];
  {
    const int row = warp * 16 + lane % 16;
    const int local = row / a.group;
    const float* row_q = local < tile.count && local < a.tokens_per_tile
                             ? a.q + (tile.first_token + local) * a.q_stride +
                                   (kv_head * a.group + row % a.group) * dim
                             : nullptr;
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const auto* q = reinterpret_cast<const float*>(
          __shfl_sync(0xffffffffu, reinterpret_cast<unsigned long long>(row_q), r));
#pragma unroll
      for (int i = 0; i < kDim / 32; ++i) {
        q_values[r][i] = q != nullptr && lane + 32 * i < dim ? q[lane + 32 * i] : 0.0f;
      }
    }
  }
  // This lane's rows g and g + 8 of the warp's 16: token, head, position (-1: a padding row).
  std::int64_t row_token[2];
  int row_head[2];
  int row_position[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = warp * 16 + g + 8 * half;
    const int local = row / a.group;
    const bool valid = local < tile.count && local < a.tokens_per_tile;
    row_token[half] = tile.first_token + (valid ? local : 0);
    row_head[half] = kv_head * a.group + row % a.group;
    row_position[half] = valid ? a.positions[row_token[half]] : -1;
  }

  // The owned row's block-table entry is read a tile ahead, its latency hidden by a tile of math.
  // Without a window the walk starts at 0, so the first lookup need not wait for the positions.
  const Copier copier(a.kv, kv_head, warp, lane);
  const int owned_row = Copier::owned_row(warp, lane % 16);  // lanes 16..31 mirror 0..15
  const int block_size = static_cast<int>(a.kv.block_size);
  int next_block = 0;
  int next_offset = 0;
  const auto look_up = [&](std::int64_t base) {  // clamped: past the end it is not used
    const int p = static_cast<int>(min(base + owned_row, a.table_stride * block_size - 1));
    next_block = table[p / block_size];
    next_offset = p % block_size;
  };
  if (a.window <= 0) look_up(0);

  // The tile's positions: from the earliest window start to the latest position.
  int first = INT32_MAX;
  int last = -1;
  for (int i = lane; i < tile.count; i += 32) {
    const int p = a.positions[tile.first_token + i];
    first = min(first, a.window > 0 && p - a.window + 1 > 0 ? static_cast<int>(p - a.window + 1)
                                                            : 0);
    last = max(last, p);
  }
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) {
    first = min(first, __shfl_xor_sync(0xffffffffu, first, offset));
    last = max(last, __shfl_xor_sync(0xffffffffu, last, offset));
  }
  const std::int64_t end = std::int64_t{last} + 1;
  const auto slot_of = [&](std::int64_t base) {
    return base + owned_row < end ? next_block * block_size + next_offset : -1;
  };
  if (first < end) {
    if (a.window > 0) look_up(first);
    copier.copy(shared_base, slot_of(first), a.async_copy);
    copy_async_commit();
    look_up(first + kKeys);
  }

  // Q fragments in bf16, in registers for the whole walk: the rows are staged in stage 1's key
  // tile (unused until after the loop's first barrier) and read back by ldmatrix. Matrix m is rows
  // 8(m % 2) + lane % 8 at dims 16s + 8(m / 2): registers 0..3 are rows g, g + 8 at dims 2c,
  // 2c + 1, then at 2c + 8, 2c + 9, step s's A fragment.
  std::uint32_t q_frag[kDimSteps][4];
  const std::uint32_t staged = shared_base + kStageBytes<kDim> + warp * 16 * kRow;
#pragma unroll
  for (int r = 0; r < 16; ++r) {
#pragma unroll
    for (int i = 0; i < kDim / 32; ++i) {
      const std::uint16_t bits = __bfloat16_as_ushort(__float2bfloat16_rn(q_values[r][i]));
      store_shared(staged + r * kRow + 2 * (lane + 32 * i), bits);
    }
  }
  __syncwarp();
  const std::uint32_t q_lane = staged + (lane % 8 + 8 * (lane / 8 % 2)) * kRow + 16 * (lane / 16);
#pragma unroll
  for (int s = 0; s < kDimSteps; ++s) load_matrices<false>(q_frag[s], q_lane + 32 * s);

  float o[kDimTiles][4] = {};
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_total[2] = {0.0f, 0.0f};  // this lane's share; the quad's shares are summed at the end

  // This lane's ldmatrix addresses in a tile. Keys, for S = Q·Kᵀ (B[k][n] = K[n][k], key tiles n
  // and n + 1): matrix m is rows (keys) 8(m / 2) + lane % 8 at dims 8(m % 2), giving registers
  // b0(n), b1(n), b0(n + 1), b1(n + 1), lane (g, c) with key g at dims 2c, 2c + 1 (+ 8). Values,
  // for O += P·V (B[k][n] = V[k][n], dim tiles n and n + 1): matrix m is rows (keys)
  // 8(m % 2) + lane % 8 at dims 8(m / 2), transposed: lane (g, c) gets keys 2c, 2c + 1 (+ 8) at
  // dim g, again b0(n), b1(n), b0(n + 1), b1(n + 1).
  const std::uint32_t key_lane = (lane % 8 + 8 * (lane / 16)) * kRow + 16 * (lane / 8 % 2);
  const std::uint32_t value_lane = lane % 16 * kRow + 16 * (lane / 16);

  // One barrier per tile: after it the tile at `base` has landed for every thread, and every
  // warp is done with the other stage (the previous tile), so the next copy can go there.
  int stage = 0;
  for (std::int64_t base = first; base < end; base += kKeys, stage ^= 1) {
    copy_async_wait();
    __syncthreads();
    if (base + kKeys < end) {
      copier.copy(shared_base + (stage ^ 1) * kStageBytes<kDim>, slot_of(base + kKeys),
                  a.async_copy);
      copy_async_commit();
      look_up(base + 2 * kKeys);
    }
    const std::uint32_t keys_at = shared_base + stage * kStageBytes<kDim>;
    const std::uint32_t values_at = keys_at + kTileBytes<kDim>;

    // S = Q · Kᵀ for this warp's 16 rows and the tile's kKeys positions, dim steps outermost:
    // eight independent accumulators hide the mma latency, each summing its steps in order.
    float s[kKeyTiles][4] = {};
#pragma unroll
    for (int k = 0; k < kDimSteps; ++k) {
#pragma unroll
      for (int n = 0; n < kKeyTiles; n += 2) {
        std::uint32_t b[4];
        load_matrices<false>(b, keys_at + key_lane + 8 * n * kRow + 32 * k);
        mma_bf16(s[n], q_frag[k], b[0], b[1]);
        mma_bf16(s[n + 1], q_frag[k], b[2], b[3]);
      }
    }

    // Scale and mask: row `half` sees tile columns [from, to) (p < end, p <= its position and,
    // with a window, p > position - window). Only a row's diagonal tile, its window's first tile
    // and the tail past `end` mask anything; elsewhere the warp skips the compares. A padding
    // row (position -1) is never stored and need not be masked.
    int from[2];
    int to[2];
    bool whole_tile = true;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const std::int64_t row_from = a.window > 0 ? row_position[half] - a.window + 1 - base : 0;
      const std::int64_t row_to = min(end, std::int64_t{row_position[half]} + 1) - base;
      from[half] = static_cast<int>(max(min(row_from, std::int64_t{kKeys}), std::int64_t{0}));
      to[half] = static_cast<int>(max(min(row_to, std::int64_t{kKeys}), std::int64_t{0}));
      whole_tile &= row_position[half] < 0 || (from[half] == 0 && to[half] == kKeys);
    }
#pragma unroll
    for (int n = 0; n < kKeyTiles; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) s[n][e] *= a.scale_log2;
    }
    if (!__all_sync(0xffffffffu, whole_tile)) {
#pragma unroll
      for (int n = 0; n < kKeyTiles; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int column = 8 * n + 2 * c + e % 2;
          if (column < from[e / 2] || column >= to[e / 2]) s[n][e] = -INFINITY;
        }
      }
    }

    // The online softmax update of the lane's two rows. Maxima are taken as trees (a maximum is
    // the same in any order); sums keep their order.
    float correction[2];
    float subtract[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float maxima[kKeyTiles];
#pragma unroll
      for (int n = 0; n < kKeyTiles; ++n) maxima[n] = fmaxf(s[n][2 * half], s[n][2 * half + 1]);
#pragma unroll
      for (int width = kKeyTiles / 2; width > 0; width /= 2) {
#pragma unroll
        for (int n = 0; n < width; ++n) maxima[n] = fmaxf(maxima[n], maxima[n + width]);
      }
      // The four lanes of a quad hold one row between them.
      float tile_max = fmaxf(maxima[0], __shfl_xor_sync(0xffffffffu, maxima[0], 1));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
      const float new_max = fmaxf(row_max[half], tile_max);
      // A row that has seen no visible position yet keeps max -inf; subtracting 0 then keeps
      // exp2(-inf) = 0 instead of exp2(-inf + inf) = NaN.
      subtract[half] = new_max == -INFINITY ? 0.0f : new_max;
      correction[half] = exp2f(row_max[half] - subtract[half]);
      row_max[half] = new_max;
      row_total[half] *= correction[half];
    }
    // Once the maxima settle the corrections are exactly 1, and skipping them changes no bit.
    if (__any_sync(0xffffffffu, correction[0] != 1.0f || correction[1] != 1.0f)) {
#pragma unroll
      for (int n = 0; n < kDimTiles; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) o[n][e] *= correction[e / 2];
      }
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
      for (int n = 0; n < kDimTiles; n += 2) {
        std::uint32_t b[4];
        load_matrices<true>(b, values_at + value_lane + 16 * k * kRow + 16 * n);
        mma_bf16(o[n], p_frag, b[0], b[1]);
        mma_bf16(o[n + 1], p_frag, b[2], b[3]);
      }
    }
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    row_total[half] += __shfl_xor_sync(0xffffffffu, row_total[half], 1);
    row_total[half] += __shfl_xor_sync(0xffffffffu, row_total[half], 2);
    if (row_position[half] < 0) continue;
    // Every valid row sees at least its own position, so its total is positive.
    const float inv_total = 1.0f / row_total[half];
    OutT* out = static_cast<OutT*>(a.out) + row_token[half] * a.out_stride + row_head[half] * dim;
    const bool aligned = reinterpret_cast<std::uintptr_t>(out) % (2 * sizeof(OutT)) == 0;
#pragma unroll
    for (int n = 0; n < kDimTiles; ++n) {
      const int j = 8 * n + 2 * c;  // head_dim is even: a pair is all in or all out
      if (j < dim) {
        store_pair(out + j, o[n][2 * half] * inv_total, o[n][2 * half + 1] * inv_total, aligned);
      }
    }
  }
}

// Its shared memory (68 KB at kDim 128) is over the 48 KB a launch gets by default: the limit is
// raised once per device (the attribute belongs to the function in each device's context). A
// failed raise skips the launch and stays the pending CUDA error for the caller's launch check.
template <int kDim, class KvT, class OutT>
void launch(const FlashArgs& args, unsigned blocks, cudaStream_t stream) {
  constexpr int kMaxDevices = 64;
  constexpr int kBytes = 2 * kStageBytes<kDim>;
  static std::atomic<bool> raised[kMaxDevices];  // zero-initialised: not yet
  const auto kernel = flash_kernel<kDim, KvT, OutT>;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return;
  if (device >= kMaxDevices || !raised[device].load(std::memory_order_acquire)) {
    if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kBytes) !=
        cudaSuccess) {
      return;
    }
    if (device < kMaxDevices) raised[device].store(true, std::memory_order_release);
  }
  kernel<<<blocks, kThreads, kBytes, stream>>>(args);
}

template <class OutT>
void flash_prefill(const PagedAttentionBatch& batch, const FlashTile* tiles,
                   std::int64_t tile_count, std::int64_t heads, const PagedKvCache& kv,
                   std::int64_t window, float scale, OutT* out, std::int64_t out_stride,
                   cudaStream_t stream) {
  if (tile_count == 0 || heads == 0) return;
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  const bool bf16 = kv.storage == KvStorage::bf16;
  const FlashArgs args{batch.q, batch.q_stride, batch.positions, batch.block_tables,
                       batch.table_stride, tiles, static_cast<int>(heads / kv.kv_heads),
                       static_cast<int>(flash_tokens_per_tile(heads, kv.kv_heads)), kv,
                       bf16 && kv.head_dim % 8 == 0 && aligned(kv.k) && aligned(kv.v), window,
                       scale * kLog2e, out, out_stride};
  const auto blocks = static_cast<unsigned>(tile_count * kv.kv_heads);
  const auto run = [&](auto dim) {
    constexpr int kDim = decltype(dim)::value;
    if (bf16) {
      launch<kDim, __nv_bfloat16, OutT>(args, blocks, stream);
    } else {
      launch<kDim, float, OutT>(args, blocks, stream);
    }
  };
  if (kv.head_dim <= 32) {
    run(std::integral_constant<int, 32>{});
  } else if (kv.head_dim <= 64) {
    run(std::integral_constant<int, 64>{});
  } else {
    run(std::integral_constant<int, kMaxDim>{});
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
  flash_prefill(batch, tiles, tile_count, heads, kv, window, scale, out, out_stride, stream);
}

void flash_prefill_attention_f32(const PagedAttentionBatch& batch, const FlashTile* tiles,
                                 std::int64_t tile_count, std::int64_t heads,
                                 const PagedKvCache& kv, std::int64_t window, float scale,
                                 __nv_bfloat16* out, std::int64_t out_stride,
                                 cudaStream_t stream) {
  flash_prefill(batch, tiles, tile_count, heads, kv, window, scale, out, out_stride, stream);
}

}  // namespace tessera::kernels::cuda
