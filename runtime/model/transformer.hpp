#pragma once
// The driver of a decoder as one rank of a stage computes it: it loads the layer stack the
// model's architecture declared (ModelConfig::stack, runtime/models/) and runs a forward step
// over a batch of sequences sharing a paged KV cache. It knows no architecture.
//
// Its communicator is the rank's stage (with tensor parallelism alone, the tensor-parallel
// group). Where the stage has more ranks than tp (expert parallelism beyond tp), the transformer
// splits its tensor-parallel group off the stage: attention and dense layers reduce there,
// experts over the stage.
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/backend/backend.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "runtime/models/blocks/model_stack.hpp"

namespace tessera::runtime {

class Transformer {
 public:
  // Reads this rank's weights; throws Error(checkpoint) naming any tensor that is missing or whose
  // shape disagrees with config.json, Error(invalid_argument) when `communicator` is not the
  // plan's stage, and Error(unsupported) for a plan of part of the layers (a pipeline stage: not
  // executed yet). Every rank of the stage constructs its transformer at once (the split of the
  // tensor-parallel group is collective).
  Transformer(ModelConfig config, ShardPlan plan, const Checkpoint& checkpoint, Backend& backend,
              Communicator& communicator);

  // After the stage's communicator was replaced (a cluster re-formed), splits the
  // tensor-parallel group again; collective over the stage like the constructor.
  void regroup();

  // Runs one step and returns the logits of each sequence's last new token, [sequences, vocab]
  // on the group's first tensor-parallel rank (the others return their vocabulary block only).
  // Throws Error(invalid_argument) for a token id outside the vocabulary, Error(unsupported) for
  // input embeddings or multi-axis positions (no architecture takes them yet).
  Tensor forward(const ForwardBatch& batch, KvCache& cache);

  // Cache storage for this rank's kv heads.
  KvCache allocate_cache(std::int64_t num_blocks, std::int64_t block_size);

  const ModelConfig& config() const { return config_; }
  const ShardPlan& plan() const { return plan_; }
  Backend& backend() { return backend_; }
  // Elements in the weight tensors this rank holds: shows that a shard loads only its slices.
  std::int64_t parameter_count() const;

 private:
  void check_plan() const;
  Tensor forward_step(const ForwardBatch& batch, KvCache& cache);
  Communicator& tensor_parallel() const;

  ModelConfig config_;
  ShardPlan plan_;
  Backend& backend_;
  Communicator& stage_;
  // The tensor-parallel group when it is smaller than the stage; null when it is the stage.
  std::unique_ptr<Communicator> tensor_parallel_subgroup_;
  ModelStack stack_;
};

}  // namespace tessera::runtime
