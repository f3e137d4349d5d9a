#include "runtime/backend/cpu_backend.hpp"

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/attention.hpp"
#include "kernels/cpu/embedding.hpp"
#include "kernels/cpu/experts.hpp"
#include "kernels/cpu/matmul.hpp"
#include "kernels/cpu/norm.hpp"
#include "kernels/cpu/rope.hpp"
#include "kernels/cpu/sampling.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace cpu = kernels::cpu;

Tensor CpuBackend::allocate(std::vector<std::int64_t> shape) {
  return Tensor::host_f32(std::move(shape));
}

std::span<const WeightFormat> CpuBackend::loadable_formats() const {
  static constexpr WeightFormat kFormats[] = {WeightFormat::f32, WeightFormat::f16,
                                              WeightFormat::bf16};
  return kFormats;
}

Weight CpuBackend::load_weight(const Checkpoint& checkpoint, std::span<const WeightPiece> pieces,
                               std::vector<std::int64_t> shape) {
  Tensor weight = Tensor::host_f32(std::move(shape));
  const std::int64_t row_width = weight.shape().size() == 1 ? 1 : weight.cols();
  float* cursor = weight.data<float>();
  for (const WeightPiece& piece : pieces) {
    const std::int64_t count = piece.rows * row_width;
    checkpoint.read_f32(piece.name, std::span<float>(cursor, static_cast<std::size_t>(count)),
                        piece.slice);
    cursor += count;
  }
  if (cursor != weight.data<float>() + weight.numel()) {
    throw Error(ErrorCategory::internal, "weight pieces do not fill the weight's shape");
  }
  return Weight{std::move(weight), WeightFormat::f32, {}};
}

Tensor CpuBackend::upload(std::span<const float> values, std::vector<std::int64_t> shape) {
  Tensor t = Tensor::host_f32(std::move(shape));
  std::memcpy(t.data<float>(), values.data(), values.size_bytes());
  return t;
}

void CpuBackend::to_host(const Tensor& x, std::span<float> out) {
  std::memcpy(out.data(), x.data<float>(), static_cast<std::size_t>(x.numel()) * sizeof(float));
}

void CpuBackend::embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) {
  cpu::embedding_lookup(table.data<float>(), table.cols(), ids.data(),
                        static_cast<std::int64_t>(ids.size()), out.data<float>());
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, float weight_offset,
                          Tensor& out) {
  cpu::rms_norm(x.data<float>(), x.rows(), x.cols(), x.cols(), weight.data<float>(), eps,
                weight_offset, out.data<float>(), out.cols());
}

void CpuBackend::add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                              float weight_offset, Tensor& out) {
  cpu::add_rms_norm(residual.data<float>(), x.data<float>(), x.rows(), x.cols(),
                    weight.data<float>(), eps, weight_offset, out.data<float>());
}

void CpuBackend::linear(const Tensor& x, const Weight& weight, const Tensor* bias, Tensor& out) {
  if (weight.format != WeightFormat::f32) {
    throw Error(ErrorCategory::internal, "the cpu backend holds weights in F32, not " +
                                             std::string(to_string(weight.format)));
  }
  cpu::linear(x.data<float>(), x.rows(), x.cols(), weight.data.data<float>(), weight.data.dim(0),
              bias ? bias->data<float>() : nullptr, out.data<float>());
}

void CpuBackend::qk_norm(Tensor& qkv, const AttentionShape& shape, const Tensor& q_weight,
                         const Tensor& k_weight, float eps, float weight_offset) {
  const std::int64_t stride = qkv.cols();
  for (std::int64_t t = 0; t < qkv.rows(); ++t) {
    float* q = qkv.data<float>() + t * stride;
    float* k = q + shape.q_width();
    cpu::rms_norm(q, shape.heads, shape.head_dim, shape.head_dim, q_weight.data<float>(), eps,
                  weight_offset, q, shape.head_dim);
    cpu::rms_norm(k, shape.kv_heads, shape.head_dim, shape.head_dim, k_weight.data<float>(), eps,
                  weight_offset, k, shape.head_dim);
  }
}

void CpuBackend::rope(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
                      std::span<const std::int32_t> positions) {
  const auto tokens = static_cast<std::int64_t>(positions.size());
  float* q = qkv.data<float>();
  // Query heads and key heads sit side by side in each row: rotate them as one run of heads.
  cpu::rope_rotate_half(q, tokens, qkv.cols(), shape.heads + shape.kv_heads, shape.head_dim,
                        positions.data(), inv_freq.data<float>());
}

void CpuBackend::attention(const Tensor& qkv, const AttentionShape& shape, KvLayer& kv,
                           std::int64_t block_size, const ForwardBatch& batch,
                           std::int64_t window, Tensor& out) {
  const kernels::PagedKvLayer paged{kv.k.data<float>(), kv.v.data<float>(), block_size,
                                shape.kv_heads, shape.head_dim};
  const std::int64_t stride = qkv.cols();
  const float* base = qkv.data<float>();
  cpu::store_kv(base + shape.q_width(), base + shape.q_width() + shape.kv_width(),
                qkv.rows(), stride, batch.slots.data(), paged);
  const float scale = shape.softmax_scale();
  for (const SequenceInBatch& seq : batch.sequences) {
    cpu::paged_attention(base + seq.first_token * stride, seq.token_count, stride,
                         batch.positions.data() + seq.first_token, shape.heads, paged,
                         seq.block_table.data(), window, scale,
                         out.data<float>() + seq.first_token * out.cols(), out.cols());
  }
}

void CpuBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  cpu::silu_mul(gate_up.data<float>(), gate_up.rows(), out.cols(), out.data<float>());
}

void CpuBackend::gelu_tanh_mul(const Tensor& gate_up, Tensor& out) {
  cpu::gelu_tanh_mul(gate_up.data<float>(), gate_up.rows(), out.cols(), out.data<float>());
}

void CpuBackend::scale(Tensor& x, float factor) {
  cpu::scale_inplace(x.data<float>(), factor, x.numel());
}

void CpuBackend::add(Tensor& acc, const Tensor& x) {
  cpu::add_inplace(acc.data<float>(), x.data<float>(), x.numel());
}

void CpuBackend::mixture_of_experts(const Tensor& x, const Tensor& router_logits,
                                    const ExpertRouting& routing, const ExpertWeights& experts,
                                    Tensor& out) {
  const std::int64_t tokens = x.rows();
  const std::int64_t k = routing.top_k;
  std::vector<std::int32_t> chosen(static_cast<std::size_t>(tokens * k));
  std::vector<float> weights(chosen.size());
  for (std::int64_t t = 0; t < tokens; ++t) {
    cpu::route_token(router_logits.data<float>() + t * routing.num_experts, routing.num_experts, k,
                     routing.normalize_top_k, chosen.data() + t * k, weights.data() + t * k);
  }
  const cpu::HeldExperts held{experts.first,
                              experts.count,
                              experts.features,
                              x.cols(),
                              experts.gate_up.data.data<float>(),
                              experts.down.data.data<float>()};
  cpu::mixture_of_experts(x.data<float>(), tokens, chosen.data(), weights.data(), k, held,
                          out.data<float>());
}

void CpuBackend::scale_rows_by_sigmoid(Tensor& x, const Tensor& gate_logits) {
  cpu::scale_rows_by_sigmoid(x.data<float>(), x.rows(), x.cols(), gate_logits.data<float>());
}

void CpuBackend::gather_rows(const Tensor& x, std::span<const std::int64_t> rows, Tensor& out) {
  const std::size_t row_bytes = static_cast<std::size_t>(x.cols()) * sizeof(float);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(out.data<float>() + static_cast<std::int64_t>(i) * x.cols(),
                x.data<float>() + rows[i] * x.cols(), row_bytes);
  }
}

std::vector<std::int32_t> CpuBackend::argmax_rows(const Tensor& logits) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(logits.rows()));
  for (std::int64_t r = 0; r < logits.rows(); ++r) {
    out[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(
        cpu::argmax(logits.data<float>() + r * logits.cols(), logits.cols()));
  }
  return out;
}

void CpuBackend::sample_rows(const Tensor& logits, std::span<const RowSample> rows,
                             std::span<SampledToken> out) {
  check_row_samples(logits.rows(), rows, out.size());
  if (rows.empty()) return;
  if (logits.dtype() != DType::f32 || logits.device() != Device::cpu) {
    throw Error(ErrorCategory::invalid_argument, "sample_rows needs f32 logits in host memory");
  }
  const std::span<const float> host(logits.data<float>(), static_cast<std::size_t>(logits.numel()));
  sample_host_rows(host, logits.cols(), rows, out);
}

}  // namespace tessera::runtime
