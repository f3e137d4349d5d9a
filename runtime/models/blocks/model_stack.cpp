#include "runtime/models/blocks/model_stack.hpp"

#include "runtime/model/rope_frequencies.hpp"

namespace tessera::runtime {

ModelStack ModelStack::load(const ModelConfig& config, const ShardPlan& plan,
                            const Checkpoint& checkpoint, Backend& backend) {
  const StackSpec& spec = config.stack;
  WeightLoader loader(checkpoint, backend);
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t vocab = config.vocab_size;
  ModelStack stack;
  stack.embed_tokens = loader.whole(spec.embed_tokens, {vocab, hidden}).data;
  stack.embedding_scale = spec.embedding_scale;
  stack.final_norm = load_norm(spec.final_norm, hidden, config, loader);
  stack.lm_head = loader.stacked_rows({{spec.lm_head, {vocab, hidden}, plan.vocab_begin, plan.vocab}});
  for (const RopeConfig& rope : spec.ropes) {
    const std::vector<float> inv_freq = rope_inverse_frequencies(rope, config.head_dim);
    stack.rope_tables.push_back(
        backend.upload(inv_freq, {static_cast<std::int64_t>(inv_freq.size())}));
  }
  stack.layers.reserve(spec.layers.size());
  for (const LayerSpec& layer : spec.layers) {
    stack.layers.emplace_back(layer, config, plan, loader, stack.rope_tables);
  }
  return stack;
}

std::int64_t ModelStack::parameter_count() const {
  std::int64_t total = embed_tokens.numel() + final_norm.weight.numel() + lm_head.numel();
  for (const DecoderLayer& layer : layers) total += layer.parameter_count();
  return total;
}

}  // namespace tessera::runtime
