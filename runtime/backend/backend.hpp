#pragma once
// What the transformer asks of a device: memory for weights and activations, and the operations
// of a Llama-family forward step. The transformer is written once against this interface; the CPU
// backend runs it with OpenBLAS in f32, the CUDA backend on a GPU.
//
// Attention tensors use one layout: a step's `qkv` holds one row per token with the rank's query
// heads, then its key heads, then its value heads (each head_dim values), as the fused q/k/v
// projection produces them.
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/backend/tensor.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/kv/forward_batch.hpp"
#include "runtime/kv/kv_cache.hpp"
#include "runtime/sampling/token_sampler.hpp"

namespace tessera::runtime {

// The attention heads one rank computes.
struct AttentionShape {
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
  // What q·k is multiplied by before the softmax. Most models use 1/sqrt(head_dim); Gemma 3
  // uses query_pre_attn_scalar^-0.5, which differs from it.
  float attention_scale = 0.0f;  // 0: 1/sqrt(head_dim)

  float softmax_scale() const {
    return attention_scale != 0.0f ? attention_scale
                                   : 1.0f / std::sqrt(static_cast<float>(head_dim));
  }
  std::int64_t q_width() const { return heads * head_dim; }
  std::int64_t kv_width() const { return kv_heads * head_dim; }
  std::int64_t qkv_width() const { return q_width() + 2 * kv_width(); }
};

// One checkpoint tensor (or a slice of it) to be stacked into a weight along dimension 0.
struct WeightPiece {
  std::string name;
  TensorSlice slice;
  std::int64_t rows = 0;  // rows this piece contributes
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // An activation tensor in the backend's compute type.
  virtual Tensor allocate(std::vector<std::int64_t> shape) = 0;
  // One layer's keys or values for the paged KV cache, zero-filled, in the dtype the backend
  // keeps its cache in (its compute type unless it overrides this: the CUDA backend stores bf16
  // to halve what attention reads). Only the backend itself reads these tensors' elements.
  virtual Tensor allocate_kv(std::vector<std::int64_t> shape) { return allocate(std::move(shape)); }
  // An activation that only feeds linear(). A backend whose products round their input may store
  // it in that narrower type (the CUDA backend: bf16), which saves writing and re-reading the
  // wide values without changing any result. The operations that write one accept it as their
  // out: rms_norm, add_rms_norm, silu_mul, gelu_tanh_mul, attention and rope_attention. Besides
  // linear(), only to_host reads it.
  virtual Tensor allocate_linear_input(std::vector<std::int64_t> shape) {
    return allocate(std::move(shape));
  }
  // A weight made of checkpoint pieces stacked along dimension 0; `shape` is the result's shape
  // (its rows equal the pieces' rows added up; the caller has checked the checkpoint's shapes).
  virtual Tensor load_weight(const Checkpoint& checkpoint, std::span<const WeightPiece> pieces,
                             std::vector<std::int64_t> shape) = 0;
  // A small table computed on the host (such as rotary frequencies).
  virtual Tensor upload(std::span<const float> values, std::vector<std::int64_t> shape) = 0;
  virtual void to_host(const Tensor& x, std::span<float> out) = 0;

  virtual void embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) = 0;
  // The RMSNorm ops compute x / sqrt(mean(x²) + eps) · (weight_offset + weight), the sum in
  // f32: Gemma stores w and scales by 1 + w (weight_offset 1), everyone else passes 0.
  // out may be an activation or a linear input.
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, float weight_offset,
                        Tensor& out) = 0;
  // residual += x; out = rms_norm(residual).
  virtual void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                            float weight_offset, Tensor& out) = 0;
  // out = x · weightᵀ (+ bias).
  virtual void linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) = 0;
  // RMSNorm over every query head and every key head of qkv, in place (Qwen3, Gemma 3).
  virtual void qk_norm(Tensor& qkv, const AttentionShape& shape, const Tensor& q_weight,
                       const Tensor& k_weight, float eps, float weight_offset) = 0;
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
  // out = silu(gate) * up, where each row of gate_up is the gate projection then the up one.
  virtual void silu_mul(const Tensor& gate_up, Tensor& out) = 0;
  // out = gelu_tanh(gate) * up, laid out as for silu_mul (Gemma's MLP), where
  // gelu_tanh(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))): PyTorch's
  // gelu(approximate="tanh").
  virtual void gelu_tanh_mul(const Tensor& gate_up, Tensor& out) = 0;
  // x *= factor, in place, on an activation.
  virtual void scale(Tensor& x, float factor) = 0;
  virtual void add(Tensor& acc, const Tensor& x) = 0;
  // out[i] = x[rows[i]].
  virtual void gather_rows(const Tensor& x, std::span<const std::int64_t> rows, Tensor& out) = 0;
  virtual std::vector<std::int32_t> argmax_rows(const Tensor& logits) = 0;

  // The next token of each listed row of `logits` [rows, vocab] (f32, outside a step), into
  // out[i]: exactly what sample_token gives for that row, and the row's state updated as
  // sample_token updates it (the token recorded, one draw consumed unless greedy). This default
  // copies the logits to the host; a backend that samples where the logits are overrides it.
  virtual void sample_rows(const Tensor& logits, std::span<const RowSample> rows,
                           std::span<SampledToken> out) {
    check_row_samples(logits.rows(), rows, out.size());
    if (rows.empty()) return;
    std::vector<float> host(static_cast<std::size_t>(logits.numel()));
    to_host(logits, host);
    sample_host_rows(host, logits.cols(), rows, out);
  }

  // Optional brackets around one forward step, for a backend that uploads a step's metadata at
  // once or records and replays whole steps (the CUDA backend's graphs); the CPU backend ignores
  // them. Every operation of the step comes between begin_step and end_step; `replayable` is
  // false when the step also runs collectives outside the backend. end_step returns the step's
  // output in a form the caller may keep. abort_step ends a step that threw.
  virtual void begin_step(const ForwardBatch& /*batch*/, const KvCache& /*cache*/,
                          bool /*replayable*/) {}
  virtual Tensor end_step(Tensor output) { return output; }
  virtual void abort_step() noexcept {}
};

}  // namespace tessera::runtime
