#include "runtime/backend/cuda_step_recorder.hpp"

#include <string>
#include <utility>

#include "runtime/backend/cuda_checks.hpp"

namespace tessera::runtime::cuda_step {

using namespace cuda_checks;

namespace {

// Each graph keeps its own memory (tens of MB at batch 64); a few shapes in use cover a serving
// loop whose batch sizes settle.
constexpr std::size_t kMaxGraphs = 8;

}  // namespace

struct StepRecorder::Graph {
  struct Recorded {
    void* data = nullptr;
    std::vector<std::int64_t> shape;
    DType dtype = DType::f32;
  };
  cudaGraphExec_t exec = nullptr;
  std::shared_ptr<CudaAllocator> pool;
  std::shared_ptr<void> metadata;
  std::vector<Recorded> tensors;
  std::vector<std::uint64_t> signature;
  std::uint64_t last_used = 0;

  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph() {
    if (exec) (void)cudaGraphExecDestroy(exec);
  }
};

StepRecorder::StepRecorder(int device, cudaStream_t stream, std::shared_ptr<CudaAllocator> memory)
    : device_(device), stream_(stream), memory_(std::move(memory)) {}

StepRecorder::~StepRecorder() {
  abort();
  (void)cudaStreamSynchronize(stream_);  // no graph may be running when it is destroyed
}

void StepRecorder::begin(const ForwardBatch& batch, const KvCache& cache, bool replayable) {
  abort();  // a step an earlier failure left open
  layout_ = layout_for(batch);
  auto* host = static_cast<std::int32_t*>(staging_.acquire(layout_.bytes()));
  bounds_ = fill_metadata(batch, layout_, cache.block_size,
                          std::span(host, static_cast<std::size_t>(layout_.size())));
  TESSERA_CUDA_REQUIRE(bounds_.max_block < cache.num_blocks &&
                           bounds_.max_slot < cache.num_blocks * cache.block_size,
                       "block " + std::to_string(bounds_.max_block) + " or slot " +
                           std::to_string(bounds_.max_slot) + " outside the cache's " +
                           std::to_string(cache.num_blocks) + " blocks of " +
                           std::to_string(cache.block_size));
  const std::size_t bytes = layout_.bytes();
  batch_ = &batch;

  bool decode = replayable && graphs_enabled_ && !cache.layers.empty() && layout_.tokens > 0 &&
                layout_.tokens == layout_.sequences;
  for (const SequenceInBatch& seq : batch.sequences) decode = decode && seq.token_count == 1;
  if (decode) {
    std::vector<const Tensor*> layers;
    for (const KvLayer& layer : cache.layers) {
      layers.push_back(&layer.k);
      layers.push_back(&layer.v);
    }
    key_ = Key{layout_.tokens, layout_.table_stride, signature(0, layers), cache.block_size,
               cache.num_blocks};
    if (const auto it = graphs_.find(key_); it != graphs_.end()) {
      graph_ = it->second.get();
      graph_->last_used = ++clock_;
      staging_.upload(graph_->metadata.get(), bytes, stream_);
      metadata_ = static_cast<const std::int32_t*>(graph_->metadata.get());
      next_signature_ = 0;
      next_tensor_ = 0;
      mode_ = Mode::replay;
      // Launched now, so the GPU runs the step while the host walks the transformer's calls to
      // check them: that walk (a few µs per operation, hundreds of operations) would otherwise
      // come before every replay. A walk that finds a difference fails the step (abort waits
      // for the graph and drops it), so a wrong replay is reported, never used.
      check(cudaGraphLaunch(graph_->exec, stream_), "cudaGraphLaunch");
      return;
    }
    if (!failed_.contains(key_)) {
      if (seen_.size() > 256) seen_.clear();
      // The first time runs eagerly, which also loads every kernel the step needs: loading a
      // module is not something a capture may do.
      if (seen_[key_]++ > 0) {
        start_capture(bytes);
        return;
      }
    }
  }
  eager_metadata_ = memory_->allocate_shared(bytes);
  staging_.upload(eager_metadata_.get(), bytes, stream_);
  metadata_ = static_cast<const std::int32_t*>(eager_metadata_.get());
  mode_ = Mode::eager;
}

void StepRecorder::start_capture(std::size_t metadata_bytes) {
  capturing_ = std::make_unique<Graph>();
  capturing_->pool = CudaAllocator::create(device_);
  capturing_->metadata = capturing_->pool->allocate_shared(metadata_bytes);
  staging_.upload(capturing_->metadata.get(), metadata_bytes, stream_);
  metadata_ = static_cast<const std::int32_t*>(capturing_->metadata.get());
  // Relaxed: the graph's pool may call cudaMalloc while the step is being captured.
  check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed), "cudaStreamBeginCapture");
  graph_ = capturing_.get();
  next_signature_ = 0;
  next_tensor_ = 0;
  mode_ = Mode::capture;
}

Tensor StepRecorder::end(const Tensor& output) {
  switch (mode_) {
    case Mode::none:
      return output;
    case Mode::eager:
      reset();
      return output;
    case Mode::capture: {
      cudaGraph_t graph = nullptr;
      cudaError_t status = cudaStreamEndCapture(stream_, &graph);
      cudaGraphExec_t exec = nullptr;
      if (status == cudaSuccess) status = cudaGraphInstantiate(&exec, graph, 0);
      if (graph) (void)cudaGraphDestroy(graph);
      if (status != cudaSuccess) {
        (void)cudaGetLastError();
        failed_.insert(key_);
        capturing_.reset();
        reset();
        check(status, "capturing a decode step into a CUDA graph");
      }
      capturing_->exec = exec;
      if (graphs_.size() >= kMaxGraphs) {
        auto oldest = graphs_.begin();
        for (auto it = graphs_.begin(); it != graphs_.end(); ++it) {
          if (it->second->last_used < oldest->second->last_used) oldest = it;
        }
        check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize (dropping a CUDA graph)");
        graphs_.erase(oldest);
      }
      graph_ = capturing_.get();
      graph_->last_used = ++clock_;
      graphs_[key_] = std::move(capturing_);
      check(cudaGraphLaunch(graph_->exec, stream_), "cudaGraphLaunch");
      return copy_output(output);
    }
    case Mode::replay:
      if (next_signature_ != graph_->signature.size() || next_tensor_ != graph_->tensors.size()) {
        fail("a replayed decode step ended after " + std::to_string(next_signature_) + " of " +
             std::to_string(graph_->signature.size()) + " captured operations");
      }
      return copy_output(output);  // the graph was launched at begin
  }
  return output;
}

Tensor StepRecorder::copy_output(const Tensor& output) {
  reset();
  const std::size_t bytes = static_cast<std::size_t>(output.numel()) * dtype_size(output.dtype());
  auto storage = memory_->allocate_shared(bytes);
  check(cudaMemcpyAsync(storage.get(), output.data<void>(), bytes, cudaMemcpyDeviceToDevice,
                        stream_),
        "cudaMemcpyAsync (step output)");
  void* data = storage.get();
  return Tensor(std::move(storage), data, output.dtype(), output.shape(), Device::cuda);
}

void StepRecorder::abort() noexcept {
  if (mode_ == Mode::capture) {
    cudaGraph_t graph = nullptr;
    (void)cudaStreamEndCapture(stream_, &graph);
    if (graph) (void)cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    failed_.insert(key_);
    capturing_.reset();
  } else if (mode_ == Mode::replay) {
    // The step diverged from its graph (or failed elsewhere): record it afresh next time.
    (void)cudaStreamSynchronize(stream_);
    graphs_.erase(key_);
    seen_.erase(key_);
  }
  reset();
}

void StepRecorder::reset() noexcept {
  mode_ = Mode::none;
  batch_ = nullptr;
  graph_ = nullptr;
  metadata_ = nullptr;
  eager_metadata_.reset();
}

CudaAllocator& StepRecorder::pool() const {
  return mode_ == Mode::capture ? *graph_->pool : *memory_;
}

bool StepRecorder::replayed(std::uint64_t signature) {
  if (mode_ == Mode::capture) {
    graph_->signature.push_back(signature);
    return false;
  }
  if (mode_ != Mode::replay) return false;
  TESSERA_CUDA_REQUIRE(next_signature_ < graph_->signature.size() &&
                           graph_->signature[next_signature_] == signature,
                       "a replayed decode step differs from the captured one at operation " +
                           std::to_string(next_signature_));
  ++next_signature_;
  return true;
}

void StepRecorder::record_tensor(const Tensor& t) {
  if (mode_ == Mode::capture) graph_->tensors.push_back({t.data<void>(), t.shape(), t.dtype()});
}

Tensor StepRecorder::replay_tensor(const std::vector<std::int64_t>& shape) {
  TESSERA_CUDA_REQUIRE(mode_ == Mode::replay && next_tensor_ < graph_->tensors.size() &&
                           graph_->tensors[next_tensor_].shape == shape,
                       "a replayed decode step allocates " + shape_text(shape) +
                           " where the captured one did not");
  const Graph::Recorded& r = graph_->tensors[next_tensor_++];
  // Shares ownership of the graph's pool: the memory stays valid while the tensor lives.
  return Tensor(std::shared_ptr<void>(graph_->pool, r.data), r.data, r.dtype, shape,
                Device::cuda);
}

std::uint64_t signature(int operation, std::span<const Tensor* const> tensors,
                        std::int64_t extra) {
  // FNV-1a over the operation, each tensor's address and element count, and `extra`.
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xffu;
      h *= 1099511628211ull;
    }
  };
  mix(static_cast<std::uint64_t>(operation));
  for (const Tensor* t : tensors) {
    mix(t ? reinterpret_cast<std::uintptr_t>(t->data<void>()) : 0);
    mix(t ? static_cast<std::uint64_t>(t->numel()) : 0);
  }
  mix(static_cast<std::uint64_t>(extra));
  return h;
}

}  // namespace tessera::runtime::cuda_step
