#pragma once
// A forward step's host-side description (token ids, positions, KV slots, sequences and their
// block tables) laid out as one int32 array, so the CUDA backend uploads it in a single copy per
// step and every kernel of the step reads from it. Internal to the CUDA backend.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/kv/forward_batch.hpp"

namespace tessera::runtime::cuda_step {

// ids [T] | positions [T] | token -> sequence [T] | KV slots [T] | each sequence's last token [S]
// | block tables [S][table_stride] (unused entries -1).
struct StepLayout {
  std::int64_t tokens = 0;
  std::int64_t sequences = 0;
  std::int64_t table_stride = 0;

  std::int64_t ids() const { return 0; }
  std::int64_t positions() const { return tokens; }
  std::int64_t token_sequence() const { return 2 * tokens; }
  std::int64_t slots() const { return 3 * tokens; }
  std::int64_t last_rows() const { return 4 * tokens; }
  std::int64_t tables() const { return 4 * tokens + sequences; }
  std::int64_t size() const { return tables() + sequences * table_stride; }
  std::size_t bytes() const { return static_cast<std::size_t>(size()) * sizeof(std::int32_t); }
};

// What checking the batch found, for checks against a cache's size.
struct StepBounds {
  std::int64_t max_block = -1;     // largest block id in any table
  std::int64_t max_slot = -1;      // largest KV slot written
  std::int64_t longest_span = 0;   // most positions any token attends to (window ignored)
};

// Table stride: the longest block table rounded up to a power of two (at least 8), so a growing
// sequence changes the layout (and so the recorded graph it selects) only at powers of two.
StepLayout layout_for(const ForwardBatch& batch);

// Writes the batch into `out` (layout.size() values), checking that the arrays agree in length,
// that every token belongs to exactly one sequence and has a position inside its block table (of
// blocks of `block_size`), and that slots and blocks are non-negative int32. Token ids may be
// absent (attention alone needs none). Throws Error(internal) naming what is wrong.
StepBounds fill_metadata(const ForwardBatch& batch, const StepLayout& layout,
                         std::int64_t block_size, std::span<std::int32_t> out);

// Page-locked host memory for uploads: copies from it are truly asynchronous. An event recorded
// after the copy that reads it makes the next writer wait until that copy is done.
class PinnedStaging {
 public:
  PinnedStaging() = default;
  ~PinnedStaging();
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // At least `bytes` of host memory, once the previous upload from it has finished.
  void* acquire(std::size_t bytes);
  // Copies `bytes` from the staging memory to `device` on `stream`.
  void upload(void* device, std::size_t bytes, cudaStream_t stream);

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
  cudaEvent_t read_done_ = nullptr;
};

}  // namespace tessera::runtime::cuda_step
