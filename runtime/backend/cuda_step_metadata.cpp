#include "runtime/backend/cuda_step_metadata.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <string>

#include "runtime/backend/cuda_checks.hpp"

namespace tessera::runtime::cuda_step {

using namespace cuda_checks;

StepLayout layout_for(const ForwardBatch& batch) {
  std::size_t longest = 0;
  for (const SequenceInBatch& seq : batch.sequences) longest = std::max(longest, seq.block_table.size());
  StepLayout layout;
  layout.tokens = static_cast<std::int64_t>(batch.positions.size());
  layout.sequences = static_cast<std::int64_t>(batch.sequences.size());
  layout.table_stride = static_cast<std::int64_t>(std::bit_ceil(std::max<std::size_t>(longest, 8)));
  return layout;
}

StepBounds fill_metadata(const ForwardBatch& batch, const StepLayout& layout,
                         std::int64_t block_size, std::span<std::int32_t> out) {
  const std::int64_t tokens = layout.tokens;
  const auto id_count = static_cast<std::int64_t>(batch.token_ids.size());
  TESSERA_CUDA_REQUIRE(static_cast<std::int64_t>(batch.positions.size()) == tokens &&
                           static_cast<std::int64_t>(batch.slots.size()) == tokens &&
                           (id_count == tokens || id_count == 0) && block_size > 0,
                       "batch of " + std::to_string(id_count) + " token ids, " +
                           std::to_string(batch.positions.size()) + " positions and " +
                           std::to_string(batch.slots.size()) + " slots (block size " +
                           std::to_string(block_size) + ")");
  TESSERA_CUDA_REQUIRE(static_cast<std::int64_t>(out.size()) == layout.size() &&
                           layout.size() < INT32_MAX,
                       "step metadata of " + std::to_string(layout.size()) + " values");
  std::fill(out.begin(), out.end(), -1);
  std::copy(batch.token_ids.begin(), batch.token_ids.end(), out.begin() + layout.ids());
  std::copy(batch.positions.begin(), batch.positions.end(), out.begin() + layout.positions());

  StepBounds bounds;
  for (std::int64_t t = 0; t < tokens; ++t) {
    const std::int64_t slot = batch.slots[static_cast<std::size_t>(t)];
    TESSERA_CUDA_REQUIRE(slot >= 0 && slot < INT32_MAX,
                         "KV slot " + std::to_string(slot) + " of token " + std::to_string(t));
    out[static_cast<std::size_t>(layout.slots() + t)] = static_cast<std::int32_t>(slot);
    bounds.max_slot = std::max(bounds.max_slot, slot);
  }

  for (std::int64_t s = 0; s < layout.sequences; ++s) {
    const SequenceInBatch& seq = batch.sequences[static_cast<std::size_t>(s)];
    const auto table_length = static_cast<std::int64_t>(seq.block_table.size());
    TESSERA_CUDA_REQUIRE(seq.first_token >= 0 && seq.token_count >= 0 &&
                             seq.first_token + seq.token_count <= tokens,
                         "sequence " + std::to_string(s) + " covers tokens [" +
                             std::to_string(seq.first_token) + ", " +
                             std::to_string(seq.first_token + seq.token_count) + ") of " +
                             std::to_string(tokens));
    out[static_cast<std::size_t>(layout.last_rows() + s)] =
        static_cast<std::int32_t>(seq.first_token + seq.token_count - 1);
    const std::int64_t table = layout.tables() + s * layout.table_stride;
    for (std::int64_t b = 0; b < table_length; ++b) {
      const std::int32_t block = seq.block_table[static_cast<std::size_t>(b)];
      TESSERA_CUDA_REQUIRE(block >= 0, "block " + std::to_string(block) + " in the table of sequence " +
                                           std::to_string(s));
      out[static_cast<std::size_t>(table + b)] = block;
      bounds.max_block = std::max<std::int64_t>(bounds.max_block, block);
    }
    for (std::int64_t t = seq.first_token; t < seq.first_token + seq.token_count; ++t) {
      const std::int32_t position = batch.positions[static_cast<std::size_t>(t)];
      TESSERA_CUDA_REQUIRE(position >= 0 && position / block_size < table_length,
                           "position " + std::to_string(position) + " of token " +
                               std::to_string(t) + " is beyond sequence " + std::to_string(s) +
                               "'s " + std::to_string(table_length) + " blocks of " +
                               std::to_string(block_size));
      auto& owner = out[static_cast<std::size_t>(layout.token_sequence() + t)];
      TESSERA_CUDA_REQUIRE(owner == -1, "token " + std::to_string(t) + " belongs to two sequences");
      owner = static_cast<std::int32_t>(s);
      bounds.longest_span = std::max<std::int64_t>(bounds.longest_span, position + 1);
    }
  }
  for (std::int64_t t = 0; t < tokens; ++t) {
    TESSERA_CUDA_REQUIRE(out[static_cast<std::size_t>(layout.token_sequence() + t)] >= 0,
                         "token " + std::to_string(t) + " belongs to no sequence");
  }
  return bounds;
}

PinnedStaging::~PinnedStaging() {
  if (read_done_) {
    (void)cudaEventSynchronize(read_done_);
    (void)cudaEventDestroy(read_done_);
  }
  if (data_) (void)cudaFreeHost(data_);
}

void* PinnedStaging::acquire(std::size_t bytes) {
  if (!read_done_) {
    check(cudaEventCreateWithFlags(&read_done_, cudaEventDisableTiming), "cudaEventCreate (staging)");
  }
  // Usually long done: the host waits for each step's tokens before building the next step.
  check(cudaEventSynchronize(read_done_), "cudaEventSynchronize (staging)");
  if (bytes > capacity_) {
    if (data_) check(cudaFreeHost(data_), "cudaFreeHost (staging)");
    data_ = nullptr;
    capacity_ = 0;
    const std::size_t capacity = std::max<std::size_t>(bytes + bytes / 2, 4096);
    check(cudaHostAlloc(&data_, capacity, cudaHostAllocDefault), "cudaHostAlloc (staging)");
    capacity_ = capacity;
  }
  return data_;
}

void PinnedStaging::upload(void* device, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  check(cudaMemcpyAsync(device, data_, bytes, cudaMemcpyHostToDevice, stream),
        "cudaMemcpyAsync (step metadata)");
  check(cudaEventRecord(read_done_, stream), "cudaEventRecord (staging)");
}

}  // namespace tessera::runtime::cuda_step
