#pragma once
// The CUDA backend: one device, one stream. Weights (and norm weights, biases) are stored in bf16,
// rounded to nearest even on the host at load. The residual stream and activations are f32,
// except the activations that only feed a product (allocate_linear_input) and the KV cache
// (allocate_kv; attention also accepts f32 caches), which are bf16. A linear of up to
// kernels::cuda::kGemvMaxRows rows with a large weight runs the decode GEMV kernel; others
// multiply with cuBLAS (bf16 inputs, f32 accumulation and output), converting an f32 input to
// bf16 first. Both round an f32 input to bf16 the same way, so a bf16 input gives bit for bit
// what the f32 one it was rounded from gives.
//
// Memory comes from a caching allocator (CudaAllocator). Work is queued on the stream; the host
// waits only where results come back (to_host, argmax_rows). Between begin_step and end_step the
// step's metadata is uploaded once from pinned memory, and decode steps run as CUDA graphs (see
// cuda_step_recorder.hpp). Inside a step new tensors are not zero-filled: every tensor the
// transformer allocates there is written by the operation that follows; outside steps allocate
// returns zeros, like the CPU backend.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/backend/backend.hpp"
#include "runtime/backend/cuda_allocator.hpp"

namespace tessera::runtime {

class CudaBackend final : public Backend {
 public:
  // Devices the CUDA runtime reports; 0 when there is no driver or no GPU (never throws).
  static int device_count();

  // Throws Error(unsupported) when the device cannot be used.
  explicit CudaBackend(int device = 0);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string_view name() const override { return "cuda"; }

  Tensor allocate(std::vector<std::int64_t> shape) override;
  // bf16 (rounded to nearest even as keys and values are stored): half the bytes of f32 for
  // attention to read. Outside a step only.
  Tensor allocate_kv(std::vector<std::int64_t> shape) override;
  // bf16: what linear() would round it to anyway. Allocated like allocate() (from a step's
  // graph pool inside a recorded step, zero-filled outside steps).
  Tensor allocate_linear_input(std::vector<std::int64_t> shape) override;
  // Loads every dense format, converted to bf16.
  std::span<const WeightFormat> loadable_formats() const override;
  Weight load_weight(const Checkpoint& checkpoint, std::span<const WeightPiece> pieces,
                     std::vector<std::int64_t> shape) override;
  Tensor upload(std::span<const float> values, std::vector<std::int64_t> shape) override;
  void to_host(const Tensor& x, std::span<float> out) override;

  void embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, float weight_offset,
                Tensor& out) override;
  void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                    float weight_offset, Tensor& out) override;
  void linear(const Tensor& x, const Weight& weight, const Tensor* bias, Tensor& out) override;
  void qk_norm(Tensor& qkv, const AttentionShape& shape, const Tensor& q_weight,
               const Tensor& k_weight, float eps, float weight_offset) override;
  void rope(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
            std::span<const std::int32_t> positions) override;
  void attention(const Tensor& qkv, const AttentionShape& shape, KvLayer& kv,
                 std::int64_t block_size, const ForwardBatch& batch, std::int64_t window,
                 Tensor& out) override;
  // One kernel rotates the step's queries and keys and stores the rotated keys and the values
  // in the cache; then attention reads them (cuda_backend_attention.cpp).
  void rope_attention(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
                      KvLayer& kv, std::int64_t block_size, const ForwardBatch& batch,
                      std::int64_t window, Tensor& out) override;
  void silu_mul(const Tensor& gate_up, Tensor& out) override;
  void gelu_tanh_mul(const Tensor& gate_up, Tensor& out) override;
  void scale(Tensor& x, float factor) override;
  void add(Tensor& acc, const Tensor& x) override;
  void mixture_of_experts(const Tensor& x, const Tensor& router_logits,
                          const ExpertRouting& routing, const ExpertWeights& experts,
                          Tensor& out) override;
  void scale_rows_by_sigmoid(Tensor& x, const Tensor& gate_logits) override;
  void gather_rows(const Tensor& x, std::span<const std::int64_t> rows, Tensor& out) override;
  std::vector<std::int32_t> argmax_rows(const Tensor& logits) override;
  // On the device (cuda_backend_sampling.cpp): only a small table goes up and a few bytes per row
  // come back. Vocabularies of kernels::cuda::kSamplingMaxVocab or more sample on the host.
  void sample_rows(const Tensor& logits, std::span<const RowSample> rows,
                   std::span<SampledToken> out) override;

  void begin_step(const ForwardBatch& batch, const KvCache& cache, bool replayable) override;
  Tensor end_step(Tensor output) override;
  void abort_step() noexcept override;

  // Waits for every queued operation (surfacing any asynchronous error as an Error).
  void synchronize();

  // The caching allocator's counters (tensors, caches and temporaries; weights included).
  CudaAllocator::Stats memory_stats() const;
  // Decode steps run as CUDA graphs unless turned off (for comparisons); on by default.
  void set_decode_graphs(bool enabled);
  std::size_t decode_graph_count() const;

 private:
  struct State;
  std::unique_ptr<State> state_;

  // allocate() and allocate_linear_input(): an activation of `dtype`.
  Tensor allocate_activation(DType dtype, std::vector<std::int64_t> shape);
};

}  // namespace tessera::runtime
