#include "runtime/models/blocks/decoder_layer.hpp"

#include <string>

#include "runtime/core/error.hpp"
#include "runtime/models/blocks/dense_mlp.hpp"
#include "runtime/models/blocks/mixture_of_experts.hpp"

namespace tessera::runtime {
namespace {

const Tensor& rope_table(const std::vector<Tensor>& tables, std::size_t index,
                         const std::string& layer) {
  if (index >= tables.size()) {
    throw Error(ErrorCategory::internal, layer + " names RoPE variant " + std::to_string(index) +
                                             " of " + std::to_string(tables.size()));
  }
  return tables[index];
}

std::optional<RmsNormWeight> load_optional_norm(const std::optional<NormSpec>& spec,
                                                const ModelConfig& config, WeightLoader& loader) {
  if (!spec) return std::nullopt;
  return load_norm(*spec, config.hidden_size, config, loader);
}

std::unique_ptr<FeedForward> load_feed_forward(const LayerSpec& spec, const ModelConfig& config,
                                               const ShardPlan& plan, WeightLoader& loader) {
  if (spec.moe) return std::make_unique<MixtureOfExperts>(*spec.moe, config, plan, loader);
  return std::make_unique<DenseMlp>(spec.mlp, config, plan, loader);
}

}  // namespace

RmsNormWeight load_norm(const NormSpec& spec, std::int64_t size, const ModelConfig& config,
                        WeightLoader& loader) {
  return {loader.whole(spec.tensor, {size}).data, static_cast<float>(config.rms_norm_eps),
          spec.weight_offset};
}

DecoderLayer::DecoderLayer(const LayerSpec& spec, const ModelConfig& config, const ShardPlan& plan,
                           WeightLoader& loader, const std::vector<Tensor>& rope_tables)
    : input_norm_(load_norm(spec.input_norm, config.hidden_size, config, loader)),
      attention_(spec.attention, config, plan, loader,
                 rope_table(rope_tables, spec.attention.rope, spec.attention.q)),
      attention_output_norm_(load_optional_norm(spec.attention_output_norm, config, loader)),
      mlp_norm_(load_norm(spec.mlp_norm, config.hidden_size, config, loader)),
      mlp_(load_feed_forward(spec, config, plan, loader)),
      mlp_output_norm_(load_optional_norm(spec.mlp_output_norm, config, loader)) {}

void DecoderLayer::forward(const StepContext& step, KvLayer& kv, Tensor& residual, Tensor& normed,
                           Tensor& out) const {
  Backend& backend = step.backend;
  Tensor sublayer;  // a sublayer's output before its output norm, for layers that have one
  if (attention_output_norm_ || mlp_output_norm_) sublayer = backend.allocate(out.shape());

  Tensor& attention_out = attention_output_norm_ ? sublayer : out;
  attention_.forward(step, kv, normed, attention_out);
  if (attention_output_norm_) attention_output_norm_->apply(backend, sublayer, out);
  mlp_norm_.add_then_apply(backend, residual, out, normed);

  Tensor& mlp_out = mlp_output_norm_ ? sublayer : out;
  mlp_->forward(step, normed, mlp_out);
  if (mlp_output_norm_) mlp_output_norm_->apply(backend, sublayer, out);
}

std::int64_t DecoderLayer::parameter_count() const {
  std::int64_t total = input_norm_.weight.numel() + attention_.parameter_count() +
                       mlp_norm_.weight.numel() + mlp_->parameter_count();
  if (attention_output_norm_) total += attention_output_norm_->weight.numel();
  if (mlp_output_norm_) total += mlp_output_norm_->weight.numel();
  return total;
}

}  // namespace tessera::runtime
