#pragma once
// How the op specs make their inputs: normal activations, and weights whose values are
// bf16-representable so every backend holds exactly the values the reference uses.
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "tests/backend_ops/op_spec.hpp"

namespace tessera::backend_ops {

inline float round_to_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&value, &bits, sizeof bits);
  return value;
}

inline HostTensor normal(std::mt19937& rng, std::vector<std::int64_t> shape, float scale = 1.0f) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  std::normal_distribution<float> dist(0.0f, scale);
  HostTensor t{std::move(shape), std::vector<float>(static_cast<std::size_t>(n))};
  for (float& v : t.values) v = dist(rng);
  return t;
}

// A weight: bf16-representable values, so every backend holds exactly these.
inline HostTensor weight(std::mt19937& rng, std::vector<std::int64_t> shape, float scale = 1.0f,
                         float mean = 0.0f) {
  HostTensor t = normal(rng, std::move(shape), scale);
  for (float& v : t.values) v = round_to_bf16(mean + v);
  return t;
}

}  // namespace tessera::backend_ops
