#pragma once
// The Llama-family decoder (Llama 2/3/3.1, Mistral, Qwen2/2.5, Qwen3) as one rank of a
// tensor-parallel group computes it: this rank's slices of the weights, read from the checkpoint
// at construction, and a forward step over a batch of sequences sharing a paged KV cache.
#include <cstdint>
#include <vector>

#include "runtime/backend/backend.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"

namespace tessera::runtime {

class Transformer {
 public:
  // Reads this rank's weights; throws Error(checkpoint) naming any tensor that is missing or whose
  // shape disagrees with config.json, Error(invalid_argument) when `communicator` is not the
  // plan's tensor-parallel group, and Error(unsupported) for a plan of part of the layers (a
  // pipeline stage: not executed yet).
  Transformer(ModelConfig config, ShardPlan plan, const Checkpoint& checkpoint, Backend& backend,
              Communicator& communicator);

  // Runs one step and returns the logits of each sequence's last new token, [sequences, vocab]
  // on the group's first tensor-parallel rank (the others return their vocabulary block only).
  // Throws Error(invalid_argument) for a token id outside the vocabulary.
  Tensor forward(const ForwardBatch& batch, KvCache& cache);

  // Cache storage for this rank's kv heads.
  KvCache allocate_cache(std::int64_t num_blocks, std::int64_t block_size);

  const ModelConfig& config() const { return config_; }
  const ShardPlan& plan() const { return plan_; }
  Backend& backend() { return backend_; }
  // Elements in the weight tensors this rank holds: shows that a shard loads only its slices.
  std::int64_t parameter_count() const;

 private:
  struct Layer {
    Tensor input_norm, post_attention_norm;
    Tensor qkv, qkv_bias, q_norm, k_norm, o, o_bias;
    Tensor gate_up, gate_up_bias, down, down_bias;
    std::int64_t sliding_window = 0;
  };

  void check_plan() const;
  void load_weights(const Checkpoint& checkpoint);
  Layer load_layer(const Checkpoint& checkpoint, std::int64_t index);
  void attention_block(const Layer& layer, KvLayer& kv, std::int64_t block_size,
                       const ForwardBatch& batch, const Tensor& normed, Tensor& out);
  void mlp_block(const Layer& layer, const Tensor& normed, Tensor& out);
  void all_reduce(Tensor& partial_sums);
  Tensor forward_step(const ForwardBatch& batch, KvCache& cache);

  ModelConfig config_;
  ShardPlan plan_;
  Backend& backend_;
  Communicator& communicator_;
  AttentionShape attention_shape_;
  Tensor embed_tokens_, final_norm_, lm_head_, inv_freq_;
  std::vector<Layer> layers_;
};

}  // namespace tessera::runtime
