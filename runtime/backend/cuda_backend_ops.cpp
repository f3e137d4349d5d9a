// The CUDA backend's operations other than attention. Each goes through State::run, which skips
// it when a replayed graph does the work and records it while capturing; inside, it checks its
// arguments and queues its kernels on the stream.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/backend/cuda_backend_state.hpp"
#include "runtime/backend/cuda_checks.hpp"

namespace tessera::runtime {
namespace kc = kernels::cuda;
using namespace cuda_checks;

namespace {

// Below this many weights a product is bound by launch latency, and cuBLAS and the GEMV kernel
// take the same few microseconds. Keeping cuBLAS there keeps small models' logits independent of
// how their tokens are batched: the two paths sum in different orders, and a rounding difference
// of one ulp can flip the bf16 rounding of a later activation.
constexpr std::int64_t kGemvMinWeights = std::int64_t{1} << 20;

bool same_span(std::span<const std::int32_t> a, const std::vector<std::int32_t>& b) {
  return a.data() == b.data() && a.size() == b.size();
}

std::string tensor_text(const Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  return std::string(to_string(t.dtype())) + (t.device() == Device::cuda ? " on cuda" : " on cpu");
}

// An activation is f32, or bf16 when it only feeds products (Backend::allocate_linear_input).
// Returns which; throws naming `what` for any other tensor.
DType activation_dtype(const Tensor& t, const char* what) {
  TESSERA_CUDA_REQUIRE(t.defined() && t.device() == Device::cuda &&
                           (t.dtype() == DType::f32 || t.dtype() == DType::bf16),
                       std::string(what) +
                           " must be an F32 or BF16 tensor on the CUDA device (got " +
                           tensor_text(t) + ")");
  return t.dtype();
}

// Calls f with the activation t's elements as float* or __nv_bfloat16*, for a kernel overloaded
// on both.
template <class F>
void with_activation(const Tensor& t, const char* what, F&& f) {
  if (activation_dtype(t, what) == DType::bf16) {
    f(t.data<__nv_bfloat16>());
  } else {
    f(t.data<float>());
  }
}

}  // namespace

void CudaBackend::embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) {
  state_->run(CudaOp::embedding, {&table, &out}, [&](State& s) {
    const auto* table_data = bf16_in(table, "embedding table");
    float* out_data = f32_out(out, "embedding out");
    const auto count = static_cast<std::int64_t>(ids.size());
    TESSERA_CUDA_REQUIRE(out.rows() == count && out.cols() == table.cols(),
                         "embedding of " + std::to_string(count) + " ids from table " +
                             shape_text(table.shape()) + " into " + shape_text(out.shape()));
    for (const std::int32_t id : ids) {
      TESSERA_CUDA_REQUIRE(id >= 0 && id < table.dim(0),
                           "embedding id " + std::to_string(id) + " outside the table of " +
                               std::to_string(table.dim(0)) + " rows");
    }
    const ForwardBatch* batch = s.step->batch();
    std::shared_ptr<void> keep;
    const std::int32_t* device_ids = s.device_ints(ids, batch && same_span(ids, batch->token_ids),
                                                   s.step->layout().ids(), keep);
    kc::embedding_lookup_f32(table_data, table.cols(), device_ids, count, out_data, s.stream);
    check_launch("embedding_lookup_f32");
  });
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, float weight_offset,
                           Tensor& out) {
  state_->run(CudaOp::rms_norm, {&x, &weight, &out}, scalar_key(eps, weight_offset),
              [&](State& s) {
    TESSERA_CUDA_REQUIRE(weight.numel() == x.cols() && out.rows() == x.rows() &&
                             out.cols() == x.cols(),
                         "rms_norm of " + shape_text(x.shape()) + " with weight " +
                             shape_text(weight.shape()) + " into " + shape_text(out.shape()));
    const float* x_data = f32_in(x, "rms_norm x");
    const auto* w_data = bf16_in(weight, "rms_norm weight");
    with_activation(out, "rms_norm out", [&](auto* out_data) {
      kc::rms_norm_f32(x_data, x.rows(), 1, x.cols(), x.cols(), w_data, eps, weight_offset,
                       out_data, out.cols(), s.stream);
    });
    check_launch("rms_norm_f32");
  });
}

void CudaBackend::add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                               float weight_offset, Tensor& out) {
  state_->run(CudaOp::add_rms_norm, {&residual, &x, &weight, &out},
              scalar_key(eps, weight_offset), [&](State& s) {
    TESSERA_CUDA_REQUIRE(residual.shape() == x.shape() && out.shape() == x.shape() &&
                             weight.numel() == x.cols(),
                         "add_rms_norm of residual " + shape_text(residual.shape()) + ", x " +
                             shape_text(x.shape()) + ", weight " + shape_text(weight.shape()) +
                             ", out " + shape_text(out.shape()));
    float* residual_data = f32_out(residual, "add_rms_norm residual");
    const float* x_data = f32_in(x, "add_rms_norm x");
    const auto* w_data = bf16_in(weight, "add_rms_norm weight");
    with_activation(out, "add_rms_norm out", [&](auto* out_data) {
      kc::add_rms_norm_f32(residual_data, x_data, x.rows(), x.cols(), w_data, eps, weight_offset,
                           out_data, s.stream);
    });
    check_launch("add_rms_norm_f32");
  });
}

void CudaBackend::linear(const Tensor& x, const Weight& held, const Tensor* bias, Tensor& out) {
  // load_weight holds every format as bf16; other formats get their own kernels here.
  TESSERA_CUDA_REQUIRE(held.format == WeightFormat::bf16,
                       "linear of a " + std::string(to_string(held.format)) + " weight");
  const Tensor& weight = held.data;
  state_->run(CudaOp::linear, {&x, &weight, bias, &out}, [&](State& s) {
    // x may be bf16 (an activation that only feeds products): both paths below round an f32 x to
    // bf16 first, so a bf16 x gives bit for bit what the f32 x it was rounded from gives.
    const bool x_bf16 = activation_dtype(x, "linear x") == DType::bf16;
    const auto* w_data = bf16_in(weight, "linear weight");
    float* out_data = f32_out(out, "linear out");
    const std::int64_t n = x.rows();
    const std::int64_t k = x.cols();
    TESSERA_CUDA_REQUIRE(weight.shape().size() == 2,
                         "linear weight of shape " + shape_text(weight.shape()));
    const std::int64_t m = weight.dim(0);
    TESSERA_CUDA_REQUIRE(weight.cols() == k && out.rows() == n && out.cols() == m,
                         "linear of x " + shape_text(x.shape()) + " by weight " +
                             shape_text(weight.shape()) + " into " + shape_text(out.shape()));
    const __nv_bfloat16* bias_data = nullptr;
    if (bias) {
      TESSERA_CUDA_REQUIRE(bias->numel() == m, "linear bias of shape " +
                                                   shape_text(bias->shape()) + " for " +
                                                   std::to_string(m) + " outputs");
      bias_data = bf16_in(*bias, "linear bias");
    }
    if (n == 0 || m == 0) return;
    if (n <= kc::kGemvMaxRows && m * k >= kGemvMinWeights) {
      with_activation(x, "linear x", [&](const auto* x_data) {
        kc::gemv_bf16(x_data, n, k, w_data, m, bias_data, out_data, s.stream);
      });
      check_launch("gemv_bf16");
      return;
    }
    // cuBLASLt multiplies bf16 by bf16: an f32 x is rounded into a temporary first.
    const __nv_bfloat16* x_data = x.data<__nv_bfloat16>();
    std::shared_ptr<void> rounded;
    if (!x_bf16) {
      rounded = s.temporary(static_cast<std::size_t>(n * k) * sizeof(__nv_bfloat16));
      auto* rounded_data = static_cast<__nv_bfloat16*>(rounded.get());
      kc::f32_to_bf16(x.data<float>(), n * k, rounded_data, s.stream);
      check_launch("f32_to_bf16");
      x_data = rounded_data;
    }
    s.gemm->bf16_f32(x_data, n, k, w_data, m, out_data,
                     s.step->mode() != cuda_step::Mode::capture);
    if (bias_data) {
      kc::add_bias_rows(out_data, n, m, bias_data, s.stream);
      check_launch("add_bias_rows");
    }
  });
}

void CudaBackend::qk_norm(Tensor& qkv, const AttentionShape& shape, const Tensor& q_weight,
                          const Tensor& k_weight, float eps, float weight_offset) {
  state_->run(CudaOp::qk_norm, {&qkv, &q_weight, &k_weight}, scalar_key(eps, weight_offset),
              [&](State& s) {
    float* base = f32_out(qkv, "qk_norm qkv");
    TESSERA_CUDA_REQUIRE(qkv.cols() >= shape.q_width() + shape.kv_width() &&
                             q_weight.numel() == shape.head_dim &&
                             k_weight.numel() == shape.head_dim,
                         "qk_norm of qkv " + shape_text(qkv.shape()) + " with q weight " +
                             shape_text(q_weight.shape()) + ", k weight " +
                             shape_text(k_weight.shape()) + " for head_dim " +
                             std::to_string(shape.head_dim));
    const std::int64_t stride = qkv.cols();
    kc::rms_norm_f32(base, qkv.rows(), shape.heads, shape.head_dim, stride,
                     bf16_in(q_weight, "qk_norm q weight"), eps, weight_offset, base, stride,
                     s.stream);
    check_launch("rms_norm_f32 (q heads)");
    float* k_base = base + shape.q_width();
    kc::rms_norm_f32(k_base, qkv.rows(), shape.kv_heads, shape.head_dim, stride,
                     bf16_in(k_weight, "qk_norm k weight"), eps, weight_offset, k_base, stride,
                     s.stream);
    check_launch("rms_norm_f32 (k heads)");
  });
}

void CudaBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  state_->run(CudaOp::silu_mul, {&gate_up, &out}, [&](State& s) {
    TESSERA_CUDA_REQUIRE(gate_up.cols() == 2 * out.cols() && gate_up.rows() == out.rows(),
                         "silu_mul of " + shape_text(gate_up.shape()) + " into " +
                             shape_text(out.shape()));
    const float* gate_up_data = f32_in(gate_up, "silu_mul gate_up");
    with_activation(out, "silu_mul out", [&](auto* out_data) {
      kc::silu_mul_f32(gate_up_data, gate_up.rows(), out.cols(), out_data, s.stream);
    });
    check_launch("silu_mul_f32");
  });
}

void CudaBackend::gelu_tanh_mul(const Tensor& gate_up, Tensor& out) {
  state_->run(CudaOp::gelu_tanh_mul, {&gate_up, &out}, [&](State& s) {
    TESSERA_CUDA_REQUIRE(gate_up.cols() == 2 * out.cols() && gate_up.rows() == out.rows(),
                         "gelu_tanh_mul of " + shape_text(gate_up.shape()) + " into " +
                             shape_text(out.shape()));
    const float* gate_up_data = f32_in(gate_up, "gelu_tanh_mul gate_up");
    with_activation(out, "gelu_tanh_mul out", [&](auto* out_data) {
      kc::gelu_tanh_mul_f32(gate_up_data, gate_up.rows(), out.cols(), out_data, s.stream);
    });
    check_launch("gelu_tanh_mul_f32");
  });
}

void CudaBackend::scale(Tensor& x, float factor) {
  state_->run(CudaOp::scale, {&x}, scalar_key(factor), [&](State& s) {
    kc::scale_f32(f32_out(x, "scale x"), factor, x.numel(), s.stream);
    check_launch("scale_f32");
  });
}

void CudaBackend::add(Tensor& acc, const Tensor& x) {
  state_->run(CudaOp::add, {&acc, &x}, [&](State& s) {
    TESSERA_CUDA_REQUIRE(acc.numel() == x.numel(),
                         "add of " + shape_text(x.shape()) + " to " + shape_text(acc.shape()));
    kc::add_inplace_f32(f32_out(acc, "add acc"), f32_in(x, "add x"), x.numel(), s.stream);
    check_launch("add_inplace_f32");
  });
}

void CudaBackend::gather_rows(const Tensor& x, std::span<const std::int64_t> rows, Tensor& out) {
  state_->run(CudaOp::gather_rows, {&x, &out}, [&](State& s) {
    const float* x_data = f32_in(x, "gather_rows x");
    float* out_data = f32_out(out, "gather_rows out");
    const auto count = static_cast<std::int64_t>(rows.size());
    TESSERA_CUDA_REQUIRE(out.rows() == count && out.cols() == x.cols(),
                         "gather_rows of " + std::to_string(count) + " rows of " +
                             shape_text(x.shape()) + " into " + shape_text(out.shape()));
    std::vector<std::int32_t> narrow(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      TESSERA_CUDA_REQUIRE(rows[i] >= 0 && rows[i] < x.rows(),
                           "gather_rows row " + std::to_string(rows[i]) + " outside " +
                               shape_text(x.shape()));
      narrow[i] = static_cast<std::int32_t>(rows[i]);
    }
    // The transformer gathers each sequence's last token, which the step's metadata already holds.
    const ForwardBatch* batch = s.step->batch();
    const cuda_step::StepLayout& layout = s.step->layout();
    bool from_step = batch && count == layout.sequences;
    for (std::int64_t i = 0; from_step && i < count; ++i) {
      const SequenceInBatch& seq = batch->sequences[static_cast<std::size_t>(i)];
      from_step = seq.first_token + seq.token_count - 1 == rows[static_cast<std::size_t>(i)];
    }
    std::shared_ptr<void> keep;
    const std::int32_t* device_rows = s.device_ints(narrow, from_step, layout.last_rows(), keep);
    kc::gather_rows_f32(x_data, x.cols(), device_rows, count, out_data, s.stream);
    check_launch("gather_rows_f32");
  });
}

std::vector<std::int32_t> CudaBackend::argmax_rows(const Tensor& logits) {
  State& s = *state_;
  s.enter();
  TESSERA_CUDA_REQUIRE(s.step->mode() != cuda_step::Mode::capture &&
                           s.step->mode() != cuda_step::Mode::replay,
                       "argmax_rows inside a recorded decode step");
  const float* data = f32_in(logits, "argmax_rows logits");
  std::vector<std::int32_t> ids(static_cast<std::size_t>(logits.rows()));
  if (ids.empty()) return ids;
  const auto device_ids = s.temporary(ids.size() * sizeof(std::int32_t));
  kc::argmax_rows_f32(data, logits.rows(), logits.cols(), static_cast<std::int32_t*>(device_ids.get()),
                      s.stream);
  check_launch("argmax_rows_f32");
  check(cudaMemcpyAsync(ids.data(), device_ids.get(), ids.size() * sizeof(std::int32_t),
                        cudaMemcpyDeviceToHost, s.stream),
        "cudaMemcpyAsync (argmax_rows)");
  check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize (argmax_rows)");
  return ids;
}

}  // namespace tessera::runtime
