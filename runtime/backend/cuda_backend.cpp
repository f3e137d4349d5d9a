#include "runtime/backend/cuda_backend.hpp"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <array>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/cuda/kernels.hpp"
#include "runtime/backend/cuda_checks.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace kc = kernels::cuda;
using namespace cuda_checks;

namespace {

enum Scratch : int {
  kLinearInput = 0,  // bf16 copy of a linear's input
  kInt32Upload,      // token ids, positions
  kInt64Upload,      // gathered rows, KV slots
  kAttentionMeta,    // positions, token -> sequence, table offsets, block tables
  kArgmaxOut,        // argmax ids
  kScratchCount,
};

}  // namespace

struct CudaBackend::State {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  struct Buffer {
    void* data = nullptr;
    std::size_t capacity = 0;
  };
  std::array<Buffer, kScratchCount> scratch{};

  // Makes the backend's device current on the calling thread (actors call from their own).
  void enter() const { check(cudaSetDevice(device), "cudaSetDevice"); }
};

int CudaBackend::device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return 0;
  }
  return count;
}

CudaBackend::CudaBackend(int device) : state_(std::make_unique<State>()) {
  const int devices = device_count();
  if (device < 0 || device >= devices) {
    throw Error(ErrorCategory::unsupported, "CUDA device " + std::to_string(device) +
                                                " is not available (" + std::to_string(devices) +
                                                " device(s) found)");
  }
  state_->device = device;
  state_->enter();
  check(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cublasCreate(&state_->cublas), "cublasCreate");
  check(cublasSetStream(state_->cublas, state_->stream), "cublasSetStream");
}

CudaBackend::~CudaBackend() {
  // Best effort: a destructor cannot report errors.
  (void)cudaSetDevice(state_->device);
  if (state_->stream) (void)cudaStreamSynchronize(state_->stream);
  for (auto& buffer : state_->scratch) {
    if (buffer.data) (void)cudaFree(buffer.data);
  }
  if (state_->cublas) (void)cublasDestroy(state_->cublas);
  if (state_->stream) (void)cudaStreamDestroy(state_->stream);
}

void CudaBackend::synchronize() {
  state_->enter();
  check(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize");
}

void* CudaBackend::scratch(int which, std::size_t bytes) {
  State::Buffer& buffer = state_->scratch[static_cast<std::size_t>(which)];
  if (bytes > buffer.capacity) {
    // cudaFree waits for the device, so work still reading the old buffer has finished.
    if (buffer.data) check(cudaFree(buffer.data), "cudaFree (scratch)");
    buffer.data = nullptr;
    buffer.capacity = 0;
    const std::size_t capacity = bytes < 4096 ? 4096 : bytes + bytes / 2;
    check(cudaMalloc(&buffer.data, capacity), "cudaMalloc (scratch)");
    buffer.capacity = capacity;
  }
  return buffer.data;
}

void* CudaBackend::upload_scratch(int which, const void* data, std::size_t bytes) {
  void* device = scratch(which, bytes);
  if (bytes > 0) {
    // Stream-ordered after earlier readers of this scratch. From pageable memory the source is
    // staged before the call returns, so the host buffer may go away afterwards.
    check(cudaMemcpyAsync(device, data, bytes, cudaMemcpyHostToDevice, state_->stream),
          "cudaMemcpyAsync (upload to scratch)");
  }
  return device;
}

namespace {

Tensor device_tensor(DType dtype, std::vector<std::int64_t> shape) {
  const std::int64_t count = count_of(shape);
  std::size_t bytes = static_cast<std::size_t>(count) * dtype_size(dtype);
  if (bytes == 0) bytes = 16;  // a defined tensor even when empty
  void* data = nullptr;
  check(cudaMalloc(&data, bytes), "cudaMalloc");
  // cudaFree waits for the device, so a tensor dropped while queued work still uses it is safe.
  std::shared_ptr<void> storage(data, [](void* p) { (void)cudaFree(p); });
  return Tensor(std::move(storage), data, dtype, std::move(shape), Device::cuda);
}

}  // namespace

Tensor CudaBackend::allocate(std::vector<std::int64_t> shape) {
  state_->enter();
  Tensor t = device_tensor(DType::f32, std::move(shape));
  check(cudaMemsetAsync(t.data<void>(), 0, static_cast<std::size_t>(t.numel()) * sizeof(float),
                        state_->stream),
        "cudaMemsetAsync (allocate)");
  return t;
}

Tensor CudaBackend::load_weight(const Checkpoint& checkpoint, std::span<const WeightPiece> pieces,
                                std::vector<std::int64_t> shape) {
  state_->enter();
  Tensor weight = device_tensor(DType::bf16, std::move(shape));
  const std::int64_t row_width = weight.shape().size() == 1 ? 1 : weight.cols();
  std::int64_t filled = 0;
  std::vector<float> staging;
  std::vector<std::uint16_t> rounded;
  for (const WeightPiece& piece : pieces) {
    const std::int64_t count = piece.rows * row_width;
    if (filled + count > weight.numel()) {
      throw Error(ErrorCategory::internal, "weight pieces overflow the weight's shape " +
                                               shape_text(weight.shape()));
    }
    staging.resize(static_cast<std::size_t>(count));
    checkpoint.read_f32(piece.name, staging, piece.slice);
    rounded.resize(staging.size());
    for (std::size_t i = 0; i < staging.size(); ++i) rounded[i] = to_bf16_bits(staging[i]);
    check(cudaMemcpyAsync(weight.data<std::uint16_t>() + filled, rounded.data(),
                          rounded.size() * sizeof(std::uint16_t), cudaMemcpyHostToDevice,
                          state_->stream),
          "cudaMemcpyAsync (load_weight)");
    check(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize (load_weight)");
    filled += count;
  }
  if (filled != weight.numel()) {
    throw Error(ErrorCategory::internal, "weight pieces do not fill the weight's shape " +
                                             shape_text(weight.shape()));
  }
  return weight;
}

Tensor CudaBackend::upload(std::span<const float> values, std::vector<std::int64_t> shape) {
  state_->enter();
  Tensor t = device_tensor(DType::f32, std::move(shape));
  require(static_cast<std::int64_t>(values.size()) == t.numel(),
          "upload of " + std::to_string(values.size()) + " values into shape " +
              shape_text(t.shape()));
  if (!values.empty()) {
    check(cudaMemcpyAsync(t.data<void>(), values.data(), values.size_bytes(),
                          cudaMemcpyHostToDevice, state_->stream),
          "cudaMemcpyAsync (upload)");
  }
  return t;
}

void CudaBackend::to_host(const Tensor& x, std::span<float> out) {
  state_->enter();
  require(x.defined() && x.device() == Device::cuda, "to_host of a tensor not on the CUDA device");
  const auto count = static_cast<std::size_t>(x.numel());
  require(out.size() >= count, "to_host into " + std::to_string(out.size()) +
                                   " floats of a tensor of shape " + shape_text(x.shape()));
  if (x.dtype() == DType::f32) {
    check(cudaMemcpyAsync(out.data(), x.data<void>(), count * sizeof(float),
                          cudaMemcpyDeviceToHost, state_->stream),
          "cudaMemcpyAsync (to_host)");
    check(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize (to_host)");
    return;
  }
  require(x.dtype() == DType::bf16, "to_host of an f16 tensor");
  std::vector<std::uint16_t> bits(count);
  check(cudaMemcpyAsync(bits.data(), x.data<void>(), count * sizeof(std::uint16_t),
                        cudaMemcpyDeviceToHost, state_->stream),
        "cudaMemcpyAsync (to_host)");
  check(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize (to_host)");
  for (std::size_t i = 0; i < count; ++i) out[i] = bf16_to_f32(bits[i]);
}

void CudaBackend::embedding(const Tensor& table, std::span<const std::int32_t> ids, Tensor& out) {
  state_->enter();
  const auto* table_data = bf16_in(table, "embedding table");
  float* out_data = f32_out(out, "embedding out");
  const auto count = static_cast<std::int64_t>(ids.size());
  require(out.rows() == count && out.cols() == table.cols(),
          "embedding of " + std::to_string(count) + " ids from table " +
              shape_text(table.shape()) + " into " + shape_text(out.shape()));
  for (const std::int32_t id : ids) {
    require(id >= 0 && id < table.dim(0), "embedding id " + std::to_string(id) +
                                              " outside the table of " +
                                              std::to_string(table.dim(0)) + " rows");
  }
  const auto* device_ids =
      static_cast<const std::int32_t*>(upload_scratch(kInt32Upload, ids.data(), ids.size_bytes()));
  kc::embedding_lookup_f32(table_data, table.cols(), device_ids, count, out_data, state_->stream);
  check_launch("embedding_lookup_f32");
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  state_->enter();
  require(weight.numel() == x.cols() && out.rows() == x.rows() && out.cols() == x.cols(),
          "rms_norm of " + shape_text(x.shape()) + " with weight " + shape_text(weight.shape()) +
              " into " + shape_text(out.shape()));
  kc::rms_norm_f32(f32_in(x, "rms_norm x"), x.rows(), 1, x.cols(), x.cols(),
                   bf16_in(weight, "rms_norm weight"), eps, f32_out(out, "rms_norm out"),
                   out.cols(), state_->stream);
  check_launch("rms_norm_f32");
}

void CudaBackend::add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                               Tensor& out) {
  state_->enter();
  require(residual.shape() == x.shape() && out.shape() == x.shape() && weight.numel() == x.cols(),
          "add_rms_norm of residual " + shape_text(residual.shape()) + ", x " +
              shape_text(x.shape()) + ", weight " + shape_text(weight.shape()) + ", out " +
              shape_text(out.shape()));
  kc::add_rms_norm_f32(f32_out(residual, "add_rms_norm residual"), f32_in(x, "add_rms_norm x"),
                       x.rows(), x.cols(), bf16_in(weight, "add_rms_norm weight"), eps,
                       f32_out(out, "add_rms_norm out"), state_->stream);
  check_launch("add_rms_norm_f32");
}

void CudaBackend::linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) {
  state_->enter();
  const float* x_data = f32_in(x, "linear x");
  const auto* w_data = bf16_in(weight, "linear weight");
  float* out_data = f32_out(out, "linear out");
  const std::int64_t n = x.rows();
  const std::int64_t k = x.cols();
  require(weight.shape().size() == 2, "linear weight of shape " + shape_text(weight.shape()));
  const std::int64_t m = weight.dim(0);
  require(weight.cols() == k && out.rows() == n && out.cols() == m,
          "linear of x " + shape_text(x.shape()) + " by weight " + shape_text(weight.shape()) +
              " into " + shape_text(out.shape()));
  if (bias) {
    require(bias->numel() == m, "linear bias of shape " + shape_text(bias->shape()) +
                                    " for " + std::to_string(m) + " outputs");
  }
  if (n == 0 || m == 0) return;
  auto* x_bf16 = static_cast<__nv_bfloat16*>(
      scratch(kLinearInput, static_cast<std::size_t>(n * k) * sizeof(__nv_bfloat16)));
  kc::f32_to_bf16(x_data, n * k, x_bf16, state_->stream);
  check_launch("f32_to_bf16");
  // Row-major out[n, m] is column-major outᵀ (m × n) = op(W) · xᵀ where row-major W[m, k] is
  // column-major k × m (op = T, lda = k) and row-major x[n, k] is column-major k × n (op = N,
  // ldb = k); outᵀ has ldc = m.
  const float alpha = 1.0f;
  const float beta = 0.0f;
  check(cublasGemmEx(state_->cublas, CUBLAS_OP_T, CUBLAS_OP_N, as_int(m, "linear m"),
                     as_int(n, "linear n"), as_int(k, "linear k"), &alpha, w_data, CUDA_R_16BF,
                     as_int(k, "linear lda"), x_bf16, CUDA_R_16BF, as_int(k, "linear ldb"), &beta,
                     out_data, CUDA_R_32F, as_int(m, "linear ldc"), CUBLAS_COMPUTE_32F,
                     CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx (linear)");
  if (bias) {
    kc::add_bias_rows(out_data, n, m, bf16_in(*bias, "linear bias"), state_->stream);
    check_launch("add_bias_rows");
  }
}

void CudaBackend::qk_norm(Tensor& qkv, const AttentionShape& shape, const Tensor& q_weight,
                          const Tensor& k_weight, float eps) {
  state_->enter();
  float* base = f32_out(qkv, "qk_norm qkv");
  require(qkv.cols() >= shape.q_width() + shape.kv_width() &&
              q_weight.numel() == shape.head_dim && k_weight.numel() == shape.head_dim,
          "qk_norm of qkv " + shape_text(qkv.shape()) + " with q weight " +
              shape_text(q_weight.shape()) + ", k weight " + shape_text(k_weight.shape()) +
              " for head_dim " + std::to_string(shape.head_dim));
  const std::int64_t stride = qkv.cols();
  kc::rms_norm_f32(base, qkv.rows(), shape.heads, shape.head_dim, stride,
                   bf16_in(q_weight, "qk_norm q weight"), eps, base, stride, state_->stream);
  check_launch("rms_norm_f32 (q heads)");
  float* k_base = base + shape.q_width();
  kc::rms_norm_f32(k_base, qkv.rows(), shape.kv_heads, shape.head_dim, stride,
                   bf16_in(k_weight, "qk_norm k weight"), eps, k_base, stride, state_->stream);
  check_launch("rms_norm_f32 (k heads)");
}

void CudaBackend::rope(Tensor& qkv, const AttentionShape& shape, const Tensor& inv_freq,
                       std::span<const std::int32_t> positions) {
  state_->enter();
  float* base = f32_out(qkv, "rope qkv");
  const float* freq = f32_in(inv_freq, "rope inv_freq");
  const auto tokens = static_cast<std::int64_t>(positions.size());
  require(tokens == qkv.rows() && inv_freq.numel() >= shape.head_dim / 2 &&
              qkv.cols() >= shape.q_width() + shape.kv_width(),
          "rope of qkv " + shape_text(qkv.shape()) + " with " + std::to_string(tokens) +
              " positions and inv_freq " + shape_text(inv_freq.shape()));
  const auto* device_positions = static_cast<const std::int32_t*>(
      upload_scratch(kInt32Upload, positions.data(), positions.size_bytes()));
  // Query heads and key heads sit side by side in each row: rotate them as one run of heads.
  kc::rope_rotate_half_f32(base, tokens, qkv.cols(), shape.heads + shape.kv_heads,
                           shape.head_dim, device_positions, freq, state_->stream);
  check_launch("rope_rotate_half_f32");
}

void CudaBackend::attention(const Tensor& qkv, const AttentionShape& shape, KvLayer& kv,
                            std::int64_t block_size, const ForwardBatch& batch,
                            std::int64_t window, Tensor& out) {
  state_->enter();
  const float* base = f32_in(qkv, "attention qkv");
  float* out_data = f32_out(out, "attention out");
  float* k_cache = f32_out(kv.k, "attention K cache");
  float* v_cache = f32_out(kv.v, "attention V cache");
  const std::int64_t tokens = qkv.rows();
  const std::vector<std::int64_t> cache_shape{kv.k.shape().empty() ? 0 : kv.k.dim(0), block_size,
                                              shape.kv_heads, shape.head_dim};
  require(kv.k.shape() == cache_shape && kv.v.shape() == cache_shape,
          "KV cache of shapes " + shape_text(kv.k.shape()) + " and " + shape_text(kv.v.shape()) +
              ", expected " + shape_text(cache_shape));
  require(shape.kv_heads > 0 && shape.heads % shape.kv_heads == 0,
          std::to_string(shape.heads) + " query heads over " + std::to_string(shape.kv_heads) +
              " kv heads");
  require(qkv.cols() >= shape.qkv_width() && out.rows() == tokens &&
              out.cols() >= shape.q_width(),
          "attention of qkv " + shape_text(qkv.shape()) + " into " + shape_text(out.shape()));
  require(static_cast<std::int64_t>(batch.positions.size()) == tokens &&
              static_cast<std::int64_t>(batch.slots.size()) == tokens,
          "batch of " + std::to_string(batch.positions.size()) + " positions and " +
              std::to_string(batch.slots.size()) + " slots for " + std::to_string(tokens) +
              " qkv rows");
  if (tokens == 0) return;
  const std::int64_t cache_slots = cache_shape[0] * block_size;
  for (const std::int64_t slot : batch.slots) {
    require(slot >= 0 && slot < cache_slots, "KV slot " + std::to_string(slot) +
                                                 " outside the cache's " +
                                                 std::to_string(cache_slots) + " slots");
  }

  // Metadata, one int32 array: positions [tokens] | token -> sequence [tokens] |
  // table offsets [sequences] | block tables, concatenated.
  const auto sequences = static_cast<std::int64_t>(batch.sequences.size());
  std::vector<std::int32_t> meta(static_cast<std::size_t>(2 * tokens + sequences), -1);
  std::copy(batch.positions.begin(), batch.positions.end(), meta.begin());
  for (std::int64_t s = 0; s < sequences; ++s) {
    const SequenceInBatch& seq = batch.sequences[static_cast<std::size_t>(s)];
    require(seq.first_token >= 0 && seq.token_count >= 0 &&
                seq.first_token + seq.token_count <= tokens,
            "sequence " + std::to_string(s) + " covers tokens [" +
                std::to_string(seq.first_token) + ", " +
                std::to_string(seq.first_token + seq.token_count) + ") of " +
                std::to_string(tokens));
    meta[static_cast<std::size_t>(2 * tokens + s)] = static_cast<std::int32_t>(meta.size());
    for (const std::int32_t block : seq.block_table) {
      require(block >= 0 && block < cache_shape[0],
              "block " + std::to_string(block) + " outside the cache's " +
                  std::to_string(cache_shape[0]) + " blocks");
      meta.push_back(block);
    }
    for (std::int64_t t = seq.first_token; t < seq.first_token + seq.token_count; ++t) {
      const std::int32_t position = batch.positions[static_cast<std::size_t>(t)];
      require(position >= 0 &&
                  position / block_size < static_cast<std::int64_t>(seq.block_table.size()),
              "position " + std::to_string(position) + " of token " + std::to_string(t) +
                  " is beyond sequence " + std::to_string(s) + "'s " +
                  std::to_string(seq.block_table.size()) + " blocks of " +
                  std::to_string(block_size));
      require(meta[static_cast<std::size_t>(tokens + t)] == -1,
              "token " + std::to_string(t) + " belongs to two sequences");
      meta[static_cast<std::size_t>(tokens + t)] = static_cast<std::int32_t>(s);
    }
  }
  for (std::int64_t t = 0; t < tokens; ++t) {
    require(meta[static_cast<std::size_t>(tokens + t)] >= 0,
            "token " + std::to_string(t) + " belongs to no sequence");
  }
  require(meta.size() < static_cast<std::size_t>(INT32_MAX), "attention metadata too large");

  const auto* device_meta = static_cast<const std::int32_t*>(
      upload_scratch(kAttentionMeta, meta.data(), meta.size() * sizeof(std::int32_t)));
  const auto* device_slots = static_cast<const std::int64_t*>(upload_scratch(
      kInt64Upload, batch.slots.data(), batch.slots.size() * sizeof(std::int64_t)));

  const kernels::PagedKvLayer paged{k_cache, v_cache, block_size, shape.kv_heads, shape.head_dim};
  const std::int64_t stride = qkv.cols();
  kc::store_kv_f32(base + shape.q_width(), base + shape.q_width() + shape.kv_width(), tokens,
                   stride, device_slots, paged, state_->stream);
  check_launch("store_kv_f32");
  const float scale = 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  // Table offsets index the whole meta array, so block_tables is its start.
  kc::paged_attention_f32(base, tokens, stride, device_meta, device_meta + tokens,
                          device_meta + 2 * tokens, device_meta, shape.heads, paged, window,
                          scale, out_data, out.cols(), state_->stream);
  check_launch("paged_attention_f32");
}

void CudaBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  state_->enter();
  require(gate_up.cols() == 2 * out.cols() && gate_up.rows() == out.rows(),
          "silu_mul of " + shape_text(gate_up.shape()) + " into " + shape_text(out.shape()));
  kc::silu_mul_f32(f32_in(gate_up, "silu_mul gate_up"), gate_up.rows(), out.cols(),
                   f32_out(out, "silu_mul out"), state_->stream);
  check_launch("silu_mul_f32");
}

void CudaBackend::add(Tensor& acc, const Tensor& x) {
  state_->enter();
  require(acc.numel() == x.numel(),
          "add of " + shape_text(x.shape()) + " to " + shape_text(acc.shape()));
  kc::add_inplace_f32(f32_out(acc, "add acc"), f32_in(x, "add x"), x.numel(), state_->stream);
  check_launch("add_inplace_f32");
}

void CudaBackend::gather_rows(const Tensor& x, std::span<const std::int64_t> rows, Tensor& out) {
  state_->enter();
  const float* x_data = f32_in(x, "gather_rows x");
  float* out_data = f32_out(out, "gather_rows out");
  const auto count = static_cast<std::int64_t>(rows.size());
  require(out.rows() == count && out.cols() == x.cols(),
          "gather_rows of " + std::to_string(count) + " rows of " + shape_text(x.shape()) +
              " into " + shape_text(out.shape()));
  for (const std::int64_t r : rows) {
    require(r >= 0 && r < x.rows(), "gather_rows row " + std::to_string(r) + " outside " +
                                        shape_text(x.shape()));
  }
  const auto* device_rows = static_cast<const std::int64_t*>(
      upload_scratch(kInt64Upload, rows.data(), rows.size_bytes()));
  kc::gather_rows_f32(x_data, x.cols(), device_rows, count, out_data, state_->stream);
  check_launch("gather_rows_f32");
}

std::vector<std::int32_t> CudaBackend::argmax_rows(const Tensor& logits) {
  state_->enter();
  const float* data = f32_in(logits, "argmax_rows logits");
  std::vector<std::int32_t> ids(static_cast<std::size_t>(logits.rows()));
  if (ids.empty()) return ids;
  auto* device_ids = static_cast<std::int32_t*>(
      scratch(kArgmaxOut, ids.size() * sizeof(std::int32_t)));
  kc::argmax_rows_f32(data, logits.rows(), logits.cols(), device_ids, state_->stream);
  check_launch("argmax_rows_f32");
  check(cudaMemcpyAsync(ids.data(), device_ids, ids.size() * sizeof(std::int32_t),
                        cudaMemcpyDeviceToHost, state_->stream),
        "cudaMemcpyAsync (argmax_rows)");
  check(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize (argmax_rows)");
  return ids;
}

}  // namespace tessera::runtime
