#pragma once
// A rank's loaded model: what a StackSpec declared, read from the checkpoint onto a backend.
#include <cstdint>
#include <vector>

#include "runtime/models/blocks/decoder_layer.hpp"

namespace tessera::runtime {

struct ModelStack {
  Tensor embed_tokens;
  float embedding_scale = 1.0f;
  std::vector<Tensor> rope_tables;  // inverse frequencies of each of the spec's RoPE variants
  std::vector<DecoderLayer> layers;
  RmsNormWeight final_norm;
  Weight lm_head;  // this rank's vocabulary rows

  // Reads this rank's weights; throws Error(checkpoint) naming any tensor that is missing or whose
  // shape disagrees with config.json.
  static ModelStack load(const ModelConfig& config, const ShardPlan& plan,
                         const Checkpoint& checkpoint, Backend& backend);
  std::int64_t parameter_count() const;
};

}  // namespace tessera::runtime
