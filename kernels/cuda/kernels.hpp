#pragma once
// CUDA kernels on device pointers. Weights are stored in bf16; activations in bf16 (this first
// section) or f32 (the second, the CUDA backend's layout today); every reduction and every
// elementwise formula is computed in f32. Each launch goes on the given stream and returns
// without synchronising; launch errors surface at the next CUDA call that checks.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace tessera::kernels::cuda {

// out[i, :] = table[ids[i], :].
void embedding_lookup(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                      std::int64_t count, __nv_bfloat16* out, cudaStream_t stream);

// out = x / sqrt(mean(x^2) + eps) * weight, row by row.
void rms_norm(const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
              const __nv_bfloat16* weight, float eps, __nv_bfloat16* out, cudaStream_t stream);

// residual += x (kept in f32 so the residual stream does not lose precision across layers);
// out = rms_norm(residual).
void add_rms_norm(float* residual, const __nv_bfloat16* x, std::int64_t rows, std::int64_t dim,
                  const __nv_bfloat16* weight, float eps, __nv_bfloat16* out,
                  cudaStream_t stream);

// out[r, j] = silu(gate_up[r, j]) * gate_up[r, width + j].
void silu_mul(const __nv_bfloat16* gate_up, std::int64_t rows, std::int64_t width,
              __nv_bfloat16* out, cudaStream_t stream);

// Rotary embedding, "rotate half" layout, in place on `heads` heads per row.
void rope_rotate_half(__nv_bfloat16* x, std::int64_t tokens, std::int64_t stride,
                      std::int64_t heads, std::int64_t head_dim, const std::int32_t* positions,
                      const float* inv_freq, cudaStream_t stream);

}  // namespace tessera::kernels::cuda

// ---------------------------------------------------------------------------------------------
// Kernels for f32 activations with bf16 weights (the CUDA backend's layout: the residual stream
// and activations in f32, but an activation that only feeds a product is rounded to bf16 by the
// kernel writing it, through an overload with a bf16 out; weights, norms and biases in bf16).
// All math in f32.
namespace tessera::kernels::cuda {

// out[i] = bf16(x[i]), round to nearest even.
void f32_to_bf16(const float* x, std::int64_t count, __nv_bfloat16* out, cudaStream_t stream);

// out[r, c] += bias[c].
void add_bias_rows(float* out, std::int64_t rows, std::int64_t cols, const __nv_bfloat16* bias,
                   cudaStream_t stream);

// out[i, :] = f32(table[ids[i], :]).
void embedding_lookup_f32(const __nv_bfloat16* table, std::int64_t dim, const std::int32_t* ids,
                          std::int64_t count, float* out, cudaStream_t stream);

// RMSNorm of `tokens * groups` vectors of `dim` values: vector (t, g) starts at
// x + t * stride + g * dim (and likewise in out). out may equal x. Each value is scaled by
// weight_offset + weight[j], the sum in f32 (Gemma: 1 + w; other models 0).
void rms_norm_f32(const float* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                  std::int64_t stride, const __nv_bfloat16* weight, float eps,
                  float weight_offset, float* out, std::int64_t out_stride,
                  cudaStream_t stream);
// The same with out rounded to bf16 (nearest even): bf16 of what the f32 out would hold.
void rms_norm_f32(const float* x, std::int64_t tokens, std::int64_t groups, std::int64_t dim,
                  std::int64_t stride, const __nv_bfloat16* weight, float eps,
                  float weight_offset, __nv_bfloat16* out, std::int64_t out_stride,
                  cudaStream_t stream);

// residual += x; out = rms_norm(residual). Contiguous rows of dim. out in f32 or bf16 (rounded
// to nearest even); the residual is f32 either way.
void add_rms_norm_f32(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                      const __nv_bfloat16* weight, float eps, float weight_offset, float* out,
                      cudaStream_t stream);
void add_rms_norm_f32(float* residual, const float* x, std::int64_t rows, std::int64_t dim,
                      const __nv_bfloat16* weight, float eps, float weight_offset,
                      __nv_bfloat16* out, cudaStream_t stream);

// out[r, j] = silu(gate_up[r, j]) * gate_up[r, width + j], out in f32 or bf16 (rounded to
// nearest even).
void silu_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width, float* out,
                  cudaStream_t stream);
void silu_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width,
                  __nv_bfloat16* out, cudaStream_t stream);

// out[r, j] = gelu_tanh(gate_up[r, j]) * gate_up[r, width + j] with PyTorch's
// gelu(approximate="tanh"), out in f32 or bf16 (rounded to nearest even).
void gelu_tanh_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width, float* out,
                       cudaStream_t stream);
void gelu_tanh_mul_f32(const float* gate_up, std::int64_t rows, std::int64_t width,
                       __nv_bfloat16* out, cudaStream_t stream);

// x[i] *= factor.
void scale_f32(float* x, float factor, std::int64_t count, cudaStream_t stream);

// acc[i] += x[i].
void add_inplace_f32(float* acc, const float* x, std::int64_t count, cudaStream_t stream);

// Rotary embedding, "rotate half" layout, in place on `heads` heads at the start of each row;
// head_dim at most kRopeMaxHeadDim.
constexpr std::int64_t kRopeMaxHeadDim = 512;
void rope_rotate_half_f32(float* x, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                          std::int64_t head_dim, const std::int32_t* positions,
                          const float* inv_freq, cudaStream_t stream);

// out[i, :] = x[rows[i], :].
void gather_rows_f32(const float* x, std::int64_t cols, const std::int32_t* rows,
                     std::int64_t count, float* out, cudaStream_t stream);

// out[r] = index of the largest value of row r (the first one on ties).
void argmax_rows_f32(const float* x, std::int64_t rows, std::int64_t cols, std::int32_t* out,
                     cudaStream_t stream);

// out[r, :] = bf16(x[r, :]) · wᵀ (+ bias) for r < rows, rows in [1, kGemvMaxRows]: x is [rows, k]
// f32 or bf16, w is [m, k] bf16, out is [rows, m] f32. The decode-step product (see gemv.cu); it
// rounds an f32 x to bf16 as the GEMM path does, so a bf16 x gives bit for bit what the f32 x it
// was rounded from gives.
constexpr std::int64_t kGemvMaxRows = 8;
void gemv_bf16(const float* x, std::int64_t rows, std::int64_t k, const __nv_bfloat16* w,
               std::int64_t m, const __nv_bfloat16* bias, float* out, cudaStream_t stream);
void gemv_bf16(const __nv_bfloat16* x, std::int64_t rows, std::int64_t k,
               const __nv_bfloat16* w, std::int64_t m, const __nv_bfloat16* bias, float* out,
               cudaStream_t stream);

// A mixture of experts (experts.cu): token t's router logits pick top_k of num_experts experts
// (softmax, the largest probabilities, equal ones by lower index, optionally renormalised); the
// held experts first … first + count - 1 run on the tokens routed to them; out[t] sums their
// outputs times the router's weights, slot by slot. gate_up is [count·2·features, hidden] (each
// expert's gate rows, then its up rows), down [count·hidden, features], both bf16.
struct ExpertMixture {
  std::int64_t tokens = 0;
  std::int64_t hidden = 0;
  std::int64_t num_experts = 0;
  std::int64_t top_k = 0;
  bool normalize = false;
  std::int64_t first = 0;
  std::int64_t count = 0;
  std::int64_t features = 0;
  const __nv_bfloat16* gate_up = nullptr;
  const __nv_bfloat16* down = nullptr;
};
// The grouping kernel keeps three counters per held expert in shared memory.
constexpr std::int64_t kMaxHeldExperts = 1024;
// hidden and features: launch grids put their blocks of 8 outputs on the y axis (< 65536).
constexpr std::int64_t kMaxExpertWidth = std::int64_t{1} << 18;
// Device scratch mixture_of_experts_f32 needs for `m` (routing, grouping, the experts' outputs):
// fixed by the shape alone, so a recorded step allocates the same every time.
std::size_t mixture_of_experts_scratch_bytes(const ExpertMixture& m);
// x is [tokens, hidden] f32 or bf16, router_logits [tokens, num_experts] f32, out [tokens, hidden]
// f32; scratch holds mixture_of_experts_scratch_bytes(m) bytes, 256-byte aligned. No host
// synchronisation and launch shapes that depend on the shape only: capturable in a CUDA graph.
// Expects tokens·top_k, num_experts ≤ INT_MAX, count ≤ kMaxHeldExperts, hidden and features ≤
// kMaxExpertWidth, 1 ≤ top_k ≤ num_experts (the backend checks).
void mixture_of_experts_f32(const float* x, const float* router_logits, const ExpertMixture& m,
                            void* scratch, float* out, cudaStream_t stream);
void mixture_of_experts_f32(const __nv_bfloat16* x, const float* router_logits,
                            const ExpertMixture& m, void* scratch, float* out,
                            cudaStream_t stream);

// x[r, :] *= 1 / (1 + exp(-gate[r])) for `rows` rows of `width`.
void scale_rows_by_sigmoid_f32(float* x, std::int64_t rows, std::int64_t width, const float* gate,
                               cudaStream_t stream);

// One layer's paged keys and values as the CUDA kernels see them: the shared layout
// (kernels/paged_kv_layer.hpp, [blocks, block_size, kv_heads, head_dim]) with the element type
// the cache is stored in. The CUDA backend keeps its own caches in bf16 (half the bytes a decode
// step reads); f32 caches (the CPU backend's type, used by tests) work the same way.
enum class KvStorage { f32, bf16 };
struct PagedKvCache {
  void* k = nullptr;
  void* v = nullptr;
  KvStorage storage = KvStorage::f32;
  std::int64_t block_size = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
};

// Copies each token's key and value rows (k_src + t * stride, v_src + t * stride) to its slot,
// rounding to bf16 (nearest even) for a bf16 cache.
void store_kv_f32(const float* k_src, const float* v_src, std::int64_t tokens, std::int64_t stride,
                  const std::int32_t* slots, const PagedKvCache& kv, cudaStream_t stream);

// rope_rotate_half_f32 on the query and key heads of each qkv row (query heads, then kv_heads
// key heads, then kv_heads value heads, head_dim even, at most kRopeMaxHeadDim) fused with
// store_kv_f32 of the rotated keys and the values: token t goes to cache slot slots[t].
void rope_store_kv_f32(float* qkv, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                       std::int64_t head_dim, const std::int32_t* positions,
                       const float* inv_freq, const std::int32_t* slots, const PagedKvCache& kv,
                       cudaStream_t stream);

// The tokens of one paged-attention call. Token t's query heads start at q + t * q_stride; it
// belongs to sequence token_sequence[t], whose block table is block_tables + s * table_stride.
struct PagedAttentionBatch {
  const float* q = nullptr;
  std::int64_t tokens = 0;
  std::int64_t q_stride = 0;
  const std::int32_t* positions = nullptr;
  const std::int32_t* token_sequence = nullptr;
  const std::int32_t* block_tables = nullptr;
  std::int64_t table_stride = 0;
  // When set, the call covers only the `tokens` tokens listed here (indices into the rows
  // above); the others are left to another kernel (see flash_prefill_attention_f32).
  const std::int32_t* token_list = nullptr;
};

// How each token's positions are divided among blocks. With count 1 a block walks them all;
// otherwise split s covers positions [first + s * positions, first + (s + 1) * positions) of the
// token's window, and the caller provides partial_values (tokens * heads * count * head_dim
// floats), partial_stats (tokens * heads * count * 2 floats) and counters (batch.tokens *
// attention_blocks_per_token values, zero before the call; the kernel leaves them zero, so one
// buffer serves every call on a stream).
// spread_positions: the batch alone does not fill the GPU (split or not), so each block spreads
// its runs of positions over all its warps (attention.cu); set it the same way for every call
// that must give the same numbers (an eager step and its graph). wide_blocks: with
// spread_positions, the blocks of the call fit on the multiprocessors one each, so they may take
// 8 warps instead of 4 (attention.cu); set like spread_positions.
struct AttentionSplits {
  std::int64_t count = 1;
  std::int64_t positions = 0;
  bool spread_positions = false;
  bool wide_blocks = false;
  float* partial_values = nullptr;
  float* partial_stats = nullptr;
  unsigned* counters = nullptr;
};

// Blocks per token and split of paged_attention_f32, for choosing the splits.
std::int64_t attention_blocks_per_token(std::int64_t heads, std::int64_t kv_heads);
// Whether paged_attention_f32 handles this head size (up to 256).
bool attention_supports_head_dim(std::int64_t head_dim);

// Causal paged attention. Token t attends to positions [max(0, positions[t] - window + 1),
// positions[t]] (window 0: from 0). Query head h uses kv head h / (heads / kv_heads). Out row t:
// heads * head_dim values at out + t * out_stride.
void paged_attention_f32(const PagedAttentionBatch& batch, std::int64_t heads,
                         const PagedKvCache& kv, std::int64_t window, float scale,
                         const AttentionSplits& splits, float* out, std::int64_t out_stride,
                         cudaStream_t stream);
// The same with the output rounded to bf16 (for an output that only feeds a product).
void paged_attention_f32(const PagedAttentionBatch& batch, std::int64_t heads,
                         const PagedKvCache& kv, std::int64_t window, float scale,
                         const AttentionSplits& splits, __nv_bfloat16* out,
                         std::int64_t out_stride, cudaStream_t stream);

// Flash-style causal attention for prefill chunks (see flash_attention.cu): a block computes a
// tile of query rows — up to kFlashTileRows (token, query head) pairs of one sequence's new
// tokens and one kv head's group — loading each tile of keys and values into shared memory once
// for all of them, with an online softmax. Scores and the probability-value product run on
// tensor cores: queries, keys, values and probabilities are rounded to bf16, every sum is f32.
// Same masking as paged_attention_f32 (causal, optional window).
constexpr std::int64_t kFlashTileRows = 64;
// Whether the flash kernel handles this shape: even head_dim up to 128, and a group (query
// heads per kv head) of at most kFlashTileRows.
bool flash_attention_supports(std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim);
// New tokens of one sequence per tile: kFlashTileRows / group.
std::int64_t flash_tokens_per_tile(std::int64_t heads, std::int64_t kv_heads);

// One tile: `count` consecutive rows of the batch, starting at `first_token`, all of sequence
// `sequence` (count <= flash_tokens_per_tile).
struct FlashTile {
  std::int32_t sequence = 0;
  std::int32_t first_token = 0;
  std::int32_t count = 0;
};
static_assert(sizeof(FlashTile) == 3 * sizeof(std::int32_t), "uploaded as int32 triples");

// Attention of the tokens the `tile_count` tiles cover (batch.token_list is ignored): one block
// per (tile, kv head), heaviest tiles first if the caller orders them so.
void flash_prefill_attention_f32(const PagedAttentionBatch& batch, const FlashTile* tiles,
                                 std::int64_t tile_count, std::int64_t heads,
                                 const PagedKvCache& kv, std::int64_t window, float scale,
                                 float* out, std::int64_t out_stride, cudaStream_t stream);
// The same with the output rounded to bf16 (for an output that only feeds a product).
void flash_prefill_attention_f32(const PagedAttentionBatch& batch, const FlashTile* tiles,
                                 std::int64_t tile_count, std::int64_t heads,
                                 const PagedKvCache& kv, std::int64_t window, float scale,
                                 __nv_bfloat16* out, std::int64_t out_stride,
                                 cudaStream_t stream);

}  // namespace tessera::kernels::cuda
