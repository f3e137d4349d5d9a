// The CUDA backend's life cycle, memory and transfers, and the step brackets. Its operations are
// in cuda_backend_ops.cpp and cuda_backend_attention.cpp.
#include "runtime/backend/cuda_backend.hpp"

#include <cuda_runtime.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/backend/cuda_backend_state.hpp"
#include "runtime/backend/cuda_checks.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
using namespace cuda_checks;

namespace {

// cuBLAS's own workspace, set once: without it cuBLAS may allocate while a graph is captured.
constexpr std::size_t kCublasWorkspaceBytes = std::size_t{32} << 20;

}  // namespace

void CudaBackend::State::enter() const { check(cudaSetDevice(device), "cudaSetDevice"); }

bool CudaBackend::State::replayed(CudaOp op, std::initializer_list<const Tensor*> tensors,
                                  std::int64_t extra) {
  if (step->mode() != cuda_step::Mode::capture && step->mode() != cuda_step::Mode::replay) {
    return false;
  }
  return step->replayed(
      cuda_step::signature(static_cast<int>(op), std::span(tensors.begin(), tensors.size()), extra));
}

std::shared_ptr<void> CudaBackend::State::temporary(std::size_t bytes) const {
  return step->pool().allocate_shared(bytes);
}

Tensor CudaBackend::State::new_tensor(DType dtype, std::vector<std::int64_t> shape) const {
  const std::size_t bytes = static_cast<std::size_t>(count_of(shape)) * dtype_size(dtype);
  auto storage = step->pool().allocate_shared(bytes);
  void* data = storage.get();
  return Tensor(std::move(storage), data, dtype, std::move(shape), Device::cuda);
}

const std::int32_t* CudaBackend::State::device_ints(std::span<const std::int32_t> values,
                                                    bool from_step, std::int64_t offset,
                                                    std::shared_ptr<void>& keep) const {
  if (from_step) return step->metadata() + offset;
  TESSERA_CUDA_REQUIRE(step->mode() != cuda_step::Mode::capture &&
                           step->mode() != cuda_step::Mode::replay,
                       "a recorded step passed host data that is not its ForwardBatch's");
  keep = temporary(values.size_bytes());
  if (!values.empty()) {
    // From pageable memory the source is staged before the call returns, so `values` may go.
    check(cudaMemcpyAsync(keep.get(), values.data(), values.size_bytes(), cudaMemcpyHostToDevice,
                          stream),
          "cudaMemcpyAsync (upload)");
  }
  return static_cast<const std::int32_t*>(keep.get());
}

int CudaBackend::device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the error so later calls start clean
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
  State& s = *state_;
  s.device = device;
  s.enter();
  check(cudaDeviceGetAttribute(&s.multiprocessors, cudaDevAttrMultiProcessorCount, device),
        "cudaDeviceGetAttribute");
  check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cublasCreate(&s.cublas), "cublasCreate");
  check(cublasSetStream(s.cublas, s.stream), "cublasSetStream");
  check(cudaMalloc(&s.cublas_workspace, kCublasWorkspaceBytes), "cudaMalloc (cuBLAS workspace)");
  check(cublasSetWorkspace(s.cublas, s.cublas_workspace, kCublasWorkspaceBytes),
        "cublasSetWorkspace");
  const char* gemm_timing = std::getenv("TESSERA_GEMM_TUNING");
  s.gemm = std::make_unique<CudaGemm>(s.stream, s.cublas_workspace, kCublasWorkspaceBytes,
                                      gemm_timing && std::string_view(gemm_timing) == "1");
  s.split_counter_count = 2 * std::int64_t{s.multiprocessors};
  const auto counter_bytes = static_cast<std::size_t>(s.split_counter_count) * sizeof(unsigned);
  check(cudaMalloc(&s.split_counters, counter_bytes), "cudaMalloc (attention split counters)");
  check(cudaMemset(s.split_counters, 0, counter_bytes), "cudaMemset (attention split counters)");
  s.memory = CudaAllocator::create(device);
  s.step = std::make_unique<cuda_step::StepRecorder>(device, s.stream, s.memory);
}

CudaBackend::~CudaBackend() {
  // Best effort: a destructor cannot report errors.
  State& s = *state_;
  (void)cudaSetDevice(s.device);
  s.step.reset();
  if (s.stream) (void)cudaStreamSynchronize(s.stream);
  s.gemm.reset();
  if (s.cublas) (void)cublasDestroy(s.cublas);
  if (s.cublas_workspace) (void)cudaFree(s.cublas_workspace);
  if (s.split_counters) (void)cudaFree(s.split_counters);
  if (s.stream) (void)cudaStreamDestroy(s.stream);
  // Tensors still alive keep the allocator (and their memory) until they go.
}

void CudaBackend::synchronize() {
  state_->enter();
  check(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize");
}

CudaAllocator::Stats CudaBackend::memory_stats() const { return state_->memory->stats(); }

void CudaBackend::set_decode_graphs(bool enabled) { state_->step->set_graphs_enabled(enabled); }

std::size_t CudaBackend::decode_graph_count() const { return state_->step->graph_count(); }

void CudaBackend::begin_step(const ForwardBatch& batch, const KvCache& cache, bool replayable) {
  state_->enter();
  state_->step->begin(batch, cache, replayable);
}

Tensor CudaBackend::end_step(Tensor output) {
  state_->enter();
  return state_->step->end(output);
}

void CudaBackend::abort_step() noexcept {
  (void)cudaSetDevice(state_->device);
  state_->step->abort();
}

Tensor CudaBackend::allocate(std::vector<std::int64_t> shape) {
  return allocate_activation(DType::f32, std::move(shape));
}

Tensor CudaBackend::allocate_linear_input(std::vector<std::int64_t> shape) {
  return allocate_activation(DType::bf16, std::move(shape));
}

Tensor CudaBackend::allocate_activation(DType dtype, std::vector<std::int64_t> shape) {
  State& s = *state_;
  s.enter();
  switch (s.step->mode()) {
    case cuda_step::Mode::replay: {
      Tensor t = s.step->replay_tensor(shape);
      // The recorder checks the shape only; a step that asks for another dtype has diverged.
      TESSERA_CUDA_REQUIRE(t.dtype() == dtype,
                           "a replayed decode step allocates a " + std::string(to_string(dtype)) +
                               " tensor where the captured one allocated a " +
                               std::string(to_string(t.dtype())) + " one");
      return t;
    }
    case cuda_step::Mode::capture: {
      Tensor t = s.new_tensor(dtype, std::move(shape));
      s.step->record_tensor(t);
      return t;
    }
    case cuda_step::Mode::eager:
      return s.new_tensor(dtype, std::move(shape));
    case cuda_step::Mode::none:
      break;
  }
  Tensor t = s.new_tensor(dtype, std::move(shape));
  check(cudaMemsetAsync(t.data<void>(), 0, static_cast<std::size_t>(t.numel()) * dtype_size(dtype),
                        s.stream),
        "cudaMemsetAsync (allocate)");
  return t;
}

namespace {

void require_outside_recording(const cuda_step::StepRecorder& step, const char* what) {
  TESSERA_CUDA_REQUIRE(step.mode() != cuda_step::Mode::capture &&
                           step.mode() != cuda_step::Mode::replay,
                       std::string(what) + " inside a recorded decode step");
}

}  // namespace

Tensor CudaBackend::allocate_kv(std::vector<std::int64_t> shape) {
  State& s = *state_;
  s.enter();
  require_outside_recording(*s.step, "allocate_kv");
  // Straight from the allocator: a cache outlives every step, so it must not come from a
  // graph's pool.
  const std::size_t bytes = static_cast<std::size_t>(count_of(shape)) * sizeof(std::uint16_t);
  auto storage = s.memory->allocate_shared(bytes);
  void* data = storage.get();
  Tensor t(std::move(storage), data, DType::bf16, std::move(shape), Device::cuda);
  check(cudaMemsetAsync(data, 0, bytes, s.stream), "cudaMemsetAsync (allocate_kv)");
  return t;
}

std::span<const WeightFormat> CudaBackend::loadable_formats() const {
  static constexpr WeightFormat kFormats[] = {WeightFormat::f32, WeightFormat::f16,
                                              WeightFormat::bf16};
  return kFormats;
}

Weight CudaBackend::load_weight(const Checkpoint& checkpoint, std::span<const WeightPiece> pieces,
                                std::vector<std::int64_t> shape) {
  State& s = *state_;
  s.enter();
  require_outside_recording(*s.step, "load_weight");
  const std::size_t bytes = static_cast<std::size_t>(count_of(shape)) * sizeof(std::uint16_t);
  auto storage = s.memory->allocate_shared(bytes, CudaAllocator::Fit::exact);
  void* data = storage.get();
  Tensor weight(std::move(storage), data, DType::bf16, std::move(shape), Device::cuda);
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
    // Synchronous: `rounded` is reused for the next piece.
    check(cudaMemcpyAsync(weight.data<std::uint16_t>() + filled, rounded.data(),
                          rounded.size() * sizeof(std::uint16_t), cudaMemcpyHostToDevice,
                          s.stream),
          "cudaMemcpyAsync (load_weight)");
    check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize (load_weight)");
    filled += count;
  }
  if (filled != weight.numel()) {
    throw Error(ErrorCategory::internal, "weight pieces do not fill the weight's shape " +
                                             shape_text(weight.shape()));
  }
  return Weight{std::move(weight), WeightFormat::bf16, {}};
}

Tensor CudaBackend::upload(std::span<const float> values, std::vector<std::int64_t> shape) {
  State& s = *state_;
  s.enter();
  require_outside_recording(*s.step, "upload");
  Tensor t = s.new_tensor(DType::f32, std::move(shape));
  TESSERA_CUDA_REQUIRE(static_cast<std::int64_t>(values.size()) == t.numel(),
                       "upload of " + std::to_string(values.size()) + " values into shape " +
                           shape_text(t.shape()));
  if (!values.empty()) {
    check(cudaMemcpyAsync(t.data<void>(), values.data(), values.size_bytes(),
                          cudaMemcpyHostToDevice, s.stream),
          "cudaMemcpyAsync (upload)");
  }
  return t;
}

void CudaBackend::to_host(const Tensor& x, std::span<float> out) {
  State& s = *state_;
  s.enter();
  require_outside_recording(*s.step, "to_host");
  TESSERA_CUDA_REQUIRE(x.defined() && x.device() == Device::cuda,
                       "to_host of a tensor not on the CUDA device");
  const auto count = static_cast<std::size_t>(x.numel());
  TESSERA_CUDA_REQUIRE(out.size() >= count, "to_host into " + std::to_string(out.size()) +
                                                " floats of a tensor of shape " +
                                                shape_text(x.shape()));
  if (x.dtype() == DType::f32) {
    check(cudaMemcpyAsync(out.data(), x.data<void>(), count * sizeof(float),
                          cudaMemcpyDeviceToHost, s.stream),
          "cudaMemcpyAsync (to_host)");
    check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize (to_host)");
    return;
  }
  TESSERA_CUDA_REQUIRE(x.dtype() == DType::bf16, "to_host of an f16 tensor");
  std::vector<std::uint16_t> bits(count);
  check(cudaMemcpyAsync(bits.data(), x.data<void>(), count * sizeof(std::uint16_t),
                        cudaMemcpyDeviceToHost, s.stream),
        "cudaMemcpyAsync (to_host)");
  check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize (to_host)");
  for (std::size_t i = 0; i < count; ++i) out[i] = bf16_to_f32(bits[i]);
}

}  // namespace tessera::runtime
