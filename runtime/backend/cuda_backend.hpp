#pragma once
// The CUDA backend: one device, one stream. Weights (and norm weights, biases) are stored in bf16,
// rounded to nearest even on the host at load; every activation, the residual stream and the KV
// cache are f32. A linear converts its f32 input to bf16 in a scratch buffer and multiplies with
// cuBLAS (bf16 inputs, f32 accumulation and output). Work is queued on the stream; the host waits
// only where results come back (to_host, argmax_rows).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/backend/backend.hpp"

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
  Tensor load_weight(const Checkpoint& checkpoint, std::span<const WeightPiece> pieces,
                     std::vector<std::int64_t> shape) override;
  Tensor upload(std::span<const float> values, std::vector<std::int64_t> shape) override;
  void to_host(const Tensor& x, std::span<float> out) override;

  void embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                    Tensor& out) override;
  void linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) override;
  void qk_norm(Tensor& qkv, const AttentionShape& shape, const Tensor& q_weight,
               const Tensor& k_weight, float eps) override;
  void rope(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
            std::span<const std::int32_t> positions) override;
  void attention(const Tensor& qkv, const AttentionShape& shape, KvLayer& kv,
                 std::int64_t block_size, const ForwardBatch& batch, std::int64_t window,
                 Tensor& out) override;
  void silu_mul(const Tensor& gate_up, Tensor& out) override;
  void add(Tensor& acc, const Tensor& x) override;
  void gather_rows(const Tensor& x, std::span<const std::int64_t> rows, Tensor& out) override;
  std::vector<std::int32_t> argmax_rows(const Tensor& logits) override;

  // Waits for every queued operation (surfacing any asynchronous error as an Error).
  void synchronize();

 private:
  struct State;
  // Device scratch that grows as needed; the returned pointer is valid until the next call.
  void* scratch(int which, std::size_t bytes);
  // Copies host bytes into scratch `which` on the stream and returns the device pointer.
  void* upload_scratch(int which, const void* data, std::size_t bytes);

  std::unique_ptr<State> state_;
};

}  // namespace tessera::runtime
