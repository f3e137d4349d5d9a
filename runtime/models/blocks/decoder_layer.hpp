#pragma once
// One decoder layer from the shared blocks: x += attention(norm(x)), x += feed_forward(norm(x)),
// each sublayer's output optionally normalised before it is added (Gemma's sandwich norms).
#include <memory>
#include <optional>
#include <vector>

#include "runtime/models/blocks/attention_block.hpp"
#include "runtime/models/blocks/feed_forward.hpp"
#include "runtime/models/blocks/rms_norm_weight.hpp"

namespace tessera::runtime {

class DecoderLayer {
 public:
  // Reads the layer's weights; `rope_tables` are the stack's, indexed by the spec.
  DecoderLayer(const LayerSpec& spec, const ModelConfig& config, const ShardPlan& plan,
               WeightLoader& loader, const std::vector<Tensor>& rope_tables);

  const RmsNormWeight& input_norm() const { return input_norm_; }
  const AttentionBlock& attention() const { return attention_; }

  // `normed` holds input_norm(residual) on entry. Adds the attention sublayer to `residual`,
  // runs the feed-forward one and leaves in `out` (the residual's shape) what the caller adds to
  // `residual`: it fuses that add with the next layer's input norm.
  void forward(const StepContext& step, KvLayer& kv, Tensor& residual, Tensor& normed,
               Tensor& out) const;
  std::int64_t parameter_count() const;

 private:
  RmsNormWeight input_norm_;
  AttentionBlock attention_;
  std::optional<RmsNormWeight> attention_output_norm_;
  RmsNormWeight mlp_norm_;
  std::unique_ptr<FeedForward> mlp_;
  std::optional<RmsNormWeight> mlp_output_norm_;
};

// Reads a norm the spec names: its weight of `size` values, the model's eps, the spec's offset.
RmsNormWeight load_norm(const NormSpec& spec, std::int64_t size, const ModelConfig& config,
                        WeightLoader& loader);

}  // namespace tessera::runtime
