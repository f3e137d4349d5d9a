#pragma once
// The rotary inverse frequencies of a model, with its scaling (linear, llama3) applied the way
// HF transformers computes them.
#include <cstdint>
#include <vector>

#include "runtime/model/model_config.hpp"

namespace tessera::runtime {

std::vector<float> rope_inverse_frequencies(const RopeConfig& rope, std::int64_t head_dim);

}  // namespace tessera::runtime
