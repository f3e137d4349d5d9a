#pragma once
// What every block needs while one forward step runs.
#include <cstdint>

#include "runtime/backend/backend.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/kv/forward_batch.hpp"

namespace tessera::runtime {

struct StepContext {
  Backend& backend;
  Communicator& tensor_parallel;  // the rank's tensor-parallel group
  Communicator& stage;            // every rank of its pipeline stage: experts' outputs meet here
  const ForwardBatch& batch;
  std::int64_t block_size = 0;  // tokens per KV cache block

  std::int64_t tokens() const { return static_cast<std::int64_t>(batch.token_ids.size()); }
  // Sums a row-parallel block's partial outputs over the tensor-parallel group.
  void all_reduce(Tensor& partial_sums) const {
    if (tensor_parallel.size() > 1) tensor_parallel.all_reduce_sum(partial_sums);
  }
  // Sums the experts' partial outputs over the stage (expert and tensor parallelism together).
  void all_reduce_stage(Tensor& partial_sums) const {
    if (stage.size() > 1) stage.all_reduce_sum(partial_sums);
  }
};

}  // namespace tessera::runtime
