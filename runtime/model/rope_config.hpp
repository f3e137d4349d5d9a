#pragma once
// How a layer rotates its queries and keys (rotary position embedding), as config.json says.
#include <cstdint>
#include <string>

namespace tessera::runtime {

struct RopeConfig {
  enum class Kind { default_, linear, llama3 };
  Kind kind = Kind::default_;
  double theta = 10000.0;
  double factor = 1.0;                           // linear and llama3
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  std::int64_t original_max_position_embeddings = 0;  // llama3
};

// Every field in a fixed order (for fingerprints).
std::string canonical_text(const RopeConfig& rope);

}  // namespace tessera::runtime
