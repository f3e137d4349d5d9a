#pragma once
// The CUDA backend's view of one forward step (between Backend::begin_step and end_step): the
// step's metadata uploaded once, and CUDA graphs that replay whole decode steps.
//
// A decode step (one new token per sequence, no collectives) of a given shape — batch size, block
// table stride, KV cache (all its layers' addresses) — runs eagerly the first time it is seen (so
// every kernel and cuBLAS algorithm it needs is loaded), is captured into a graph the second time,
// and is replayed from then on. Only the metadata changes between replays: it is copied into the
// graph's own buffer, and the graph is launched at begin_step. The transformer still calls every
// operation while the GPU runs; the backend checks each call against what was captured (its kind
// and the tensors it touches), skips it, and hands out the tensors the graph uses.
//
// A graph's tensors live in the graph's own memory pool, reused within the step exactly as during
// capture, so no other allocation can land on memory a replay writes. Internal to the backend.
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "runtime/backend/cuda_allocator.hpp"
#include "runtime/backend/cuda_step_metadata.hpp"
#include "runtime/backend/tensor.hpp"
#include "runtime/kv/forward_batch.hpp"
#include "runtime/kv/kv_cache.hpp"

namespace tessera::runtime::cuda_step {

enum class Mode : std::uint8_t { none, eager, capture, replay };

class StepRecorder {
 public:
  StepRecorder(int device, cudaStream_t stream, std::shared_ptr<CudaAllocator> memory);
  ~StepRecorder();
  StepRecorder(const StepRecorder&) = delete;
  StepRecorder& operator=(const StepRecorder&) = delete;

  // Checks and uploads the step's metadata and decides how it runs (see the top of this file).
  void begin(const ForwardBatch& batch, const KvCache& cache, bool replayable);
  // Launches a graph just captured; returns `output`, copied out of graph memory if it is there
  // (a later replay would overwrite it).
  Tensor end(const Tensor& output);
  // Ends a step that failed; a capture in progress is discarded and its shape runs eagerly from
  // then on. Safe to call at any time.
  void abort() noexcept;

  Mode mode() const { return mode_; }
  const ForwardBatch* batch() const { return batch_; }  // the running step's, else nullptr
  const StepLayout& layout() const { return layout_; }
  const StepBounds& bounds() const { return bounds_; }
  const std::int32_t* metadata() const { return metadata_; }  // device copy of the layout

  // Where the step's tensors and temporaries come from: the graph's pool while capturing.
  CudaAllocator& pool() const;
  // Called by every operation with its signature: while capturing records it and returns false;
  // while replaying compares it with the captured one (throwing Error(internal) if the step has
  // diverged) and returns true: the graph does the work. Otherwise returns false.
  bool replayed(std::uint64_t signature);
  // While capturing: remembers a tensor the step allocated. While replaying: the tensor the
  // capture allocated at this point (throws if its shape differs).
  void record_tensor(const Tensor& t);
  Tensor replay_tensor(const std::vector<std::int64_t>& shape);

  void set_graphs_enabled(bool enabled) { graphs_enabled_ = enabled; }
  std::size_t graph_count() const { return graphs_.size(); }

 private:
  struct Key {
    std::int64_t tokens = 0;
    std::int64_t table_stride = 0;
    std::uint64_t cache = 0;  // every layer's K and V addresses, mixed
    std::int64_t block_size = 0;
    std::int64_t num_blocks = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Graph;

  void start_capture(std::size_t metadata_bytes);
  Tensor copy_output(const Tensor& output);
  void reset() noexcept;

  int device_;
  cudaStream_t stream_;
  std::shared_ptr<CudaAllocator> memory_;
  PinnedStaging staging_;
  bool graphs_enabled_ = true;

  Mode mode_ = Mode::none;
  const ForwardBatch* batch_ = nullptr;
  StepLayout layout_;
  StepBounds bounds_;
  const std::int32_t* metadata_ = nullptr;
  std::shared_ptr<void> eager_metadata_;
  Key key_;
  Graph* graph_ = nullptr;  // the graph being captured or replayed
  std::unique_ptr<Graph> capturing_;
  std::size_t next_signature_ = 0;
  std::size_t next_tensor_ = 0;

  std::map<Key, std::unique_ptr<Graph>> graphs_;
  std::map<Key, int> seen_;
  std::set<Key> failed_;
  std::uint64_t clock_ = 0;
};

// Mixes an operation's kind and the tensors it touches into a signature for
// StepRecorder::replayed.
std::uint64_t signature(int operation, std::span<const Tensor* const> tensors,
                        std::int64_t extra = 0);

}  // namespace tessera::runtime::cuda_step
