#include <algorithm>

#include "runtime/sampling/token_sampler.hpp"

namespace tessera::runtime {
namespace {

constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ull;  // SplitMix64's increment: 2^64 / phi

// SplitMix64's finaliser: a bijection on 64 bits in which every input bit flips about half of the
// output bits, so consecutive counters give unrelated outputs.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

double uniform_draw(std::uint64_t seed, std::uint64_t index) {
  const std::uint64_t bits = mix(mix(seed) + (index + 1) * kGamma);
  // 53 bits fill a double's mantissa exactly: every value is k / 2^53, so 1.0 never comes out.
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

SamplingState SamplingState::start(std::span<const std::int32_t> prompt,
                                   const SamplingParams& params, std::uint64_t fallback_seed) {
  SamplingState state;
  state.prompt_tokens.assign(prompt.begin(), prompt.end());
  std::sort(state.prompt_tokens.begin(), state.prompt_tokens.end());
  state.prompt_tokens.erase(std::unique(state.prompt_tokens.begin(), state.prompt_tokens.end()),
                            state.prompt_tokens.end());
  state.seed = params.seed.value_or(fallback_seed);
  return state;
}

}  // namespace tessera::runtime
