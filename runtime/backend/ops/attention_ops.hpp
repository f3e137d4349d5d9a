#pragma once
// The attention family of Backend: rotary embedding and paged causal attention.
//
// Attention tensors use one layout: a step's `qkv` holds one row per token with the rank's query
// heads, then its key heads, then its value heads (each head_dim values), as the fused q/k/v
// projection produces them.
#include <cstdint>
#include <span>

#include "runtime/backend/ops/attention_shape.hpp"
#include "runtime/backend/tensor.hpp"
#include "runtime/kv/forward_batch.hpp"
#include "runtime/kv/kv_cache.hpp"

namespace tessera::runtime {

class AttentionOps {
 public:
  virtual ~AttentionOps() = default;

  // Rotary embedding of the query and key heads of qkv, in place.
  virtual void rope(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
                    std::span<const std::int32_t> positions) = 0;
  // Stores the step's keys and values in the cache, then computes causal attention of every
  // sequence's new tokens into out [tokens, heads * head_dim], scores scaled by
  // shape.softmax_scale(). window 0: full attention.
  virtual void attention(const Tensor& qkv, const AttentionShape& shape, KvLayer& kv,
                         std::int64_t block_size, const ForwardBatch& batch, std::int64_t window,
                         Tensor& out) = 0;
  // rope of the step's positions, then attention: what a layer does between its q/k/v and
  // output projections. A backend may override it to rotate the keys as it stores them.
  virtual void rope_attention(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
                              KvLayer& kv, std::int64_t block_size, const ForwardBatch& batch,
                              std::int64_t window, Tensor& out) {
    rope(qkv, shape, inv_freq, batch.positions);
    attention(qkv, shape, kv, block_size, batch, window, out);
  }
};

}  // namespace tessera::runtime
