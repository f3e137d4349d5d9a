// The CUDA backend's rotary embedding and paged attention: the operations that read a step's
// positions, KV slots and block tables, taken from the step's metadata (one upload per step) when
// the transformer passes the step's own batch.
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.hpp"
#include "runtime/backend/cuda_attention_plan.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/backend/cuda_backend_state.hpp"
#include "runtime/backend/cuda_checks.hpp"

namespace tessera::runtime {
namespace kc = kernels::cuda;
using namespace cuda_checks;

namespace {

// Positions per split when a token's positions are divided among blocks (see attention.cu), as
// long as that needs at most kMaxSplits splits. Fixed, so that a token's result depends only on
// its own positions, however it is batched.
constexpr std::int64_t kSplitPositions = 32;
constexpr std::int64_t kMaxSplits = 64;

// Splits for `tokens` tokens of up to `span` positions: enough blocks to fill the device twice,
// and only where a batch is too small to do that by itself (decode).
kc::AttentionSplits choose_splits(std::int64_t tokens, std::int64_t blocks_per_token,
                                  std::int64_t span, int multiprocessors) {
  kc::AttentionSplits splits;
  if (tokens * blocks_per_token >= 2 * multiprocessors) return splits;
  splits.spread_positions = true;
  splits.positions = std::max(kSplitPositions, (span + kMaxSplits - 1) / kMaxSplits);
  splits.count = std::max<std::int64_t>(1, (span + splits.positions - 1) / splits.positions);
  splits.wide_blocks = tokens * blocks_per_token * splits.count <= multiprocessors;
  return splits;
}

// The cache as the kernels see it: f32 (the CPU backend's type, used by tests) or bf16 (what
// allocate_kv gives), keys and values alike.
kc::PagedKvCache paged_cache(KvLayer& kv, std::int64_t block_size, const AttentionShape& shape) {
  const DType dtype = kv.k.dtype();
  TESSERA_CUDA_REQUIRE(kv.k.defined() && kv.v.defined() && kv.k.device() == Device::cuda &&
                           kv.v.device() == Device::cuda && kv.v.dtype() == dtype &&
                           (dtype == DType::f32 || dtype == DType::bf16),
                       "the K and V caches must be CUDA tensors of one dtype, f32 or bf16");
  return {kv.k.data<void>(), kv.v.data<void>(),
          dtype == DType::bf16 ? kc::KvStorage::bf16 : kc::KvStorage::f32, block_size,
          shape.kv_heads, shape.head_dim};
}

// The rotation rope_attention fuses into the KV store: qkv's data, written in place.
struct FusedRope {
  float* qkv = nullptr;
  const Tensor& inv_freq;
};

// Stores the step's keys and values (rotating queries and keys first when `rope` is given), then
// runs the attention kernels. A template only so that it can take the backend's private State.
template <class BackendState>
void run_attention(BackendState& s, const Tensor& qkv, const AttentionShape& shape, KvLayer& kv,
                   std::int64_t block_size, const ForwardBatch& batch, std::int64_t window,
                   Tensor& out, const FusedRope* rope) {
  const float* base = f32_in(qkv, "attention qkv");
  TESSERA_CUDA_REQUIRE(out.defined() && out.device() == Device::cuda &&
                           (out.dtype() == DType::f32 || out.dtype() == DType::bf16),
                       "attention out must be a CUDA tensor of f32 or bf16");
  const kc::PagedKvCache paged = paged_cache(kv, block_size, shape);
  const std::int64_t tokens = qkv.rows();
  const std::vector<std::int64_t> cache_shape{kv.k.shape().empty() ? 0 : kv.k.dim(0), block_size,
                                              shape.kv_heads, shape.head_dim};
  TESSERA_CUDA_REQUIRE(kv.k.shape() == cache_shape && kv.v.shape() == cache_shape,
                       "KV cache of shapes " + shape_text(kv.k.shape()) + " and " +
                           shape_text(kv.v.shape()) + ", expected " + shape_text(cache_shape));
  TESSERA_CUDA_REQUIRE(shape.kv_heads > 0 && shape.heads % shape.kv_heads == 0 &&
                           kc::attention_supports_head_dim(shape.head_dim),
                       std::to_string(shape.heads) + " query heads over " +
                           std::to_string(shape.kv_heads) + " kv heads of " +
                           std::to_string(shape.head_dim) + " values");
  TESSERA_CUDA_REQUIRE(qkv.cols() >= shape.qkv_width() && out.rows() == tokens &&
                           out.cols() >= shape.q_width(),
                       "attention of qkv " + shape_text(qkv.shape()) + " into " +
                           shape_text(out.shape()));
  TESSERA_CUDA_REQUIRE(static_cast<std::int64_t>(batch.positions.size()) == tokens,
                       "batch of " + std::to_string(batch.positions.size()) + " positions for " +
                           std::to_string(tokens) + " qkv rows");
  if (tokens == 0) return;

  // The step's metadata when this is the step's batch; otherwise this batch's, uploaded now.
  const bool from_step = s.step->batch() == &batch;
  cuda_step::StepLayout layout = s.step->layout();
  cuda_step::StepBounds bounds = s.step->bounds();
  const std::int32_t* meta = s.step->metadata();
  std::shared_ptr<void> keep;
  if (!from_step) {
    layout = cuda_step::layout_for(batch);
    std::vector<std::int32_t> host(static_cast<std::size_t>(layout.size()));
    bounds = cuda_step::fill_metadata(batch, layout, block_size, host);
    meta = s.device_ints(host, false, 0, keep);
  }
  TESSERA_CUDA_REQUIRE(bounds.max_block < cache_shape[0] &&
                           bounds.max_slot < cache_shape[0] * block_size,
                       "block " + std::to_string(bounds.max_block) + " or slot " +
                           std::to_string(bounds.max_slot) + " outside the cache's " +
                           std::to_string(cache_shape[0]) + " blocks of " +
                           std::to_string(block_size));

  const std::int64_t stride = qkv.cols();
  if (rope) {
    TESSERA_CUDA_REQUIRE(rope->inv_freq.numel() >= shape.head_dim / 2 &&
                             shape.head_dim <= kc::kRopeMaxHeadDim,
                         "rope_attention with inv_freq " + shape_text(rope->inv_freq.shape()) +
                             " for head_dim " + std::to_string(shape.head_dim) + " (at most " +
                             std::to_string(kc::kRopeMaxHeadDim) + ")");
    kc::rope_store_kv_f32(rope->qkv, tokens, stride, shape.heads, shape.head_dim,
                          meta + layout.positions(), f32_in(rope->inv_freq, "rope inv_freq"),
                          meta + layout.slots(), paged, s.stream);
    check_launch("rope_store_kv_f32");
  } else {
    kc::store_kv_f32(base + shape.q_width(), base + shape.q_width() + shape.kv_width(), tokens,
                     stride, meta + layout.slots(), paged, s.stream);
    check_launch("store_kv_f32");
  }

  kc::PagedAttentionBatch attention_batch{
      base, tokens, stride, meta + layout.positions(), meta + layout.token_sequence(),
      meta + layout.tables(), layout.table_stride};
  const float scale = shape.softmax_scale();

  // Long prefill chunks to the flash kernel, the rest to the per-token kernel. Recorded steps
  // are decode steps (one token per sequence): they never plan flash tiles, so the uploads
  // below (refused while recording) do not happen there.
  const bool recording = s.step->mode() == cuda_step::Mode::capture ||
                         s.step->mode() == cuda_step::Mode::replay;
  const std::int64_t tokens_per_tile =
      !recording && kc::flash_attention_supports(shape.heads, shape.kv_heads, shape.head_dim)
          ? kc::flash_tokens_per_tile(shape.heads, shape.kv_heads)
          : 0;
  const cuda_step::AttentionPlan plan = cuda_step::plan_attention(batch, tokens_per_tile);
  std::shared_ptr<void> keep_lists;
  if (!plan.all_other()) {
    // One upload: the tiles, then the other tokens.
    std::vector<std::int32_t> lists = plan.flash_tiles;
    lists.insert(lists.end(), plan.other_tokens.begin(), plan.other_tokens.end());
    const std::int32_t* device_lists = s.device_ints(lists, false, 0, keep_lists);
    const auto* tiles = reinterpret_cast<const kc::FlashTile*>(device_lists);
    if (out.dtype() == DType::bf16) {
      kc::flash_prefill_attention_f32(attention_batch, tiles, plan.tile_count(), shape.heads,
                                      paged, window, scale, out.data<__nv_bfloat16>(),
                                      out.cols(), s.stream);
    } else {
      kc::flash_prefill_attention_f32(attention_batch, tiles, plan.tile_count(), shape.heads,
                                      paged, window, scale, out.data<float>(), out.cols(),
                                      s.stream);
    }
    check_launch("flash_prefill_attention_f32");
    if (plan.other_tokens.empty()) return;
    attention_batch.tokens = std::ssize(plan.other_tokens);
    attention_batch.token_list = device_lists + plan.flash_tiles.size();
  }

  // A recorded step replays with longer contexts than it was captured with: size its splits
  // for the longest context its block tables allow.
  const std::int64_t span = s.step->mode() == cuda_step::Mode::capture
                                ? layout.table_stride * block_size
                                : bounds.longest_span;
  const std::int64_t blocks_per_token = kc::attention_blocks_per_token(shape.heads, shape.kv_heads);
  kc::AttentionSplits splits =
      choose_splits(attention_batch.tokens, blocks_per_token,
                    window > 0 ? std::min(span, window) : span, s.multiprocessors);
  std::shared_ptr<void> partial_values;
  std::shared_ptr<void> partial_stats;
  if (splits.count > 1) {
    // Indexed by the token's row in the batch, so sized for all of them.
    const auto per_split = static_cast<std::size_t>(tokens * shape.heads * splits.count);
    partial_values = s.temporary(per_split * static_cast<std::size_t>(shape.head_dim) * sizeof(float));
    partial_stats = s.temporary(per_split * 2 * sizeof(float));
    splits.partial_values = static_cast<float*>(partial_values.get());
    splits.partial_stats = static_cast<float*>(partial_stats.get());
    // choose_splits splits only batches of fewer blocks than 2 per multiprocessor.
    TESSERA_CUDA_REQUIRE(attention_batch.tokens * blocks_per_token <= s.split_counter_count,
                         "attention split counters for " +
                             std::to_string(attention_batch.tokens * blocks_per_token) +
                             " blocks, only " + std::to_string(s.split_counter_count) + " kept");
    splits.counters = s.split_counters;
  }
  if (out.dtype() == DType::bf16) {
    kc::paged_attention_f32(attention_batch, shape.heads, paged, window, scale, splits,
                            out.data<__nv_bfloat16>(), out.cols(), s.stream);
  } else {
    kc::paged_attention_f32(attention_batch, shape.heads, paged, window, scale, splits,
                            out.data<float>(), out.cols(), s.stream);
  }
  check_launch("paged_attention_f32");
}

}  // namespace

void CudaBackend::rope(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
                       std::span<const std::int32_t> positions) {
  State& s = *state_;
  s.enter();
  if (s.replayed(CudaOp::rope, {&qkv, &inv_freq})) return;
  float* base = f32_out(qkv, "rope qkv");
  const float* freq = f32_in(inv_freq, "rope inv_freq");
  const auto tokens = static_cast<std::int64_t>(positions.size());
  TESSERA_CUDA_REQUIRE(tokens == qkv.rows() && inv_freq.numel() >= shape.head_dim / 2 &&
                           qkv.cols() >= shape.q_width() + shape.kv_width() &&
                           shape.head_dim <= kc::kRopeMaxHeadDim,
                       "rope of qkv " + shape_text(qkv.shape()) + " with " +
                           std::to_string(tokens) + " positions, inv_freq " +
                           shape_text(inv_freq.shape()) + " and head_dim " +
                           std::to_string(shape.head_dim) + " (at most " +
                           std::to_string(kc::kRopeMaxHeadDim) + ")");
  const ForwardBatch* batch = s.step->batch();
  const bool from_step = batch && positions.data() == batch->positions.data() &&
                         positions.size() == batch->positions.size();
  std::shared_ptr<void> keep;
  const std::int32_t* device_positions =
      s.device_ints(positions, from_step, s.step->layout().positions(), keep);
  // Query heads and key heads sit side by side in each row: rotate them as one run of heads.
  kc::rope_rotate_half_f32(base, tokens, qkv.cols(), shape.heads + shape.kv_heads,
                           shape.head_dim, device_positions, freq, s.stream);
  check_launch("rope_rotate_half_f32");
}

void CudaBackend::attention(const Tensor& qkv, const AttentionShape& shape, KvLayer& kv,
                            std::int64_t block_size, const ForwardBatch& batch,
                            std::int64_t window, Tensor& out) {
  State& s = *state_;
  s.enter();
  if (s.replayed(CudaOp::attention, {&qkv, &kv.k, &kv.v, &out}, window)) return;
  run_attention(s, qkv, shape, kv, block_size, batch, window, out, nullptr);
}

void CudaBackend::rope_attention(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
                                 KvLayer& kv, std::int64_t block_size, const ForwardBatch& batch,
                                 std::int64_t window, Tensor& out) {
  if (shape.head_dim % 2 != 0) {  // the fused kernel rotates pairs; leave odd sizes to rope
    Backend::rope_attention(qkv, shape, inv_freq, kv, block_size, batch, window, out);
    return;
  }
  State& s = *state_;
  s.enter();
  if (s.replayed(CudaOp::rope_attention, {&qkv, &inv_freq, &kv.k, &kv.v, &out}, window)) return;
  const FusedRope rope{f32_out(qkv, "rope_attention qkv"), inv_freq};
  run_attention(s, qkv, shape, kv, block_size, batch, window, out, &rope);
}

}  // namespace tessera::runtime
