#pragma once
// The CPU backend: f32 everywhere, weights converted from the checkpoint's type at load,
// matrix products through OpenBLAS.
#include "runtime/backend/backend.hpp"

namespace tessera::runtime {

class CpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }

  Tensor allocate(std::vector<std::int64_t> shape) override;
  // Loads every dense format, dequantized to f32: the CPU is the reference backend.
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
  // Samples straight from the logits' host memory (no copy).
  void sample_rows(const Tensor& logits, std::span<const RowSample> rows,
                   std::span<SampledToken> out) override;
};

}  // namespace tessera::runtime
