#include "runtime/model/rope_frequencies.hpp"

#include <cmath>
#include <numbers>

namespace tessera::runtime {
namespace {

// Llama 3.1's frequency-dependent scaling: long wavelengths are divided by `factor`, short ones
// kept, and the band between blended smoothly.
double llama3_scaled(double inv_freq, const RopeConfig& rope) {
  const auto original = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = original / rope.low_freq_factor;
  const double high_freq_wavelen = original / rope.high_freq_factor;
  const double wavelen = 2.0 * std::numbers::pi / inv_freq;
  if (wavelen < high_freq_wavelen) return inv_freq;
  if (wavelen > low_freq_wavelen) return inv_freq / rope.factor;
  const double smooth = (original / wavelen - rope.low_freq_factor) /
                        (rope.high_freq_factor - rope.low_freq_factor);
  return (1.0 - smooth) * inv_freq / rope.factor + smooth * inv_freq;
}

}  // namespace

std::vector<float> rope_inverse_frequencies(const RopeConfig& rope, std::int64_t head_dim) {
  std::vector<float> out(static_cast<std::size_t>(head_dim / 2));
  for (std::int64_t i = 0; i < head_dim / 2; ++i) {
    // HF forms the exponent in f32; do the same so both start from the same rounded value.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    double inv_freq = 1.0 / std::pow(rope.theta, static_cast<double>(exponent));
    switch (rope.kind) {
      case RopeConfig::Kind::default_: break;
      case RopeConfig::Kind::linear: inv_freq /= rope.factor; break;
      case RopeConfig::Kind::llama3: inv_freq = llama3_scaled(inv_freq, rope); break;
    }
    out[static_cast<std::size_t>(i)] = static_cast<float>(inv_freq);
  }
  return out;
}

}  // namespace tessera::runtime
