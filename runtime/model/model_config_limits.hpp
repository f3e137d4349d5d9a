#pragma once
// The largest sizes config.json may declare. A model folder is downloaded input: without bounds,
// `num_hidden_layers: 1e9` sizes per-layer tables (and loops) before any weight is looked at, and
// products such as vocab_size * hidden_size can overflow int64 in the code that shapes tensors.
// Each bound is far above every released model of the supported families (largest today: about
// 128 layers, hidden 16384, intermediate 53248, 262144 vocabulary, 128 heads, head_dim 256,
// 10M context) and small enough that every product below fits int64 with room to spare.
#include <cstdint>

namespace tessera::runtime::config_limits {

inline constexpr std::int64_t kMaxLayers = 1024;                  // num_hidden_layers
inline constexpr std::int64_t kMaxHiddenSize = std::int64_t{1} << 20;        // hidden_size
inline constexpr std::int64_t kMaxIntermediateSize = std::int64_t{1} << 22;  // intermediate_size
inline constexpr std::int64_t kMaxVocabSize = std::int64_t{1} << 24;         // vocab_size
inline constexpr std::int64_t kMaxHeads = std::int64_t{1} << 12;  // attention and key/value heads
inline constexpr std::int64_t kMaxHeadDim = std::int64_t{1} << 12;           // head_dim
// Experts of a mixture-of-experts layer (DeepSeek-V3 has 256).
inline constexpr std::int64_t kMaxExperts = std::int64_t{1} << 12;  // num_experts
inline constexpr std::int64_t kMaxPositions = std::int64_t{1} << 28;  // max_position_embeddings
// Weights the config implies, all layers together (about 4.4 trillion).
inline constexpr std::int64_t kMaxParameters = std::int64_t{1} << 42;
// config.json and generation_config.json are read whole; real ones are a few kilobytes.
inline constexpr std::uintmax_t kMaxConfigFileBytes = std::uintmax_t{16} << 20;
// Entries of `eos_token_id`: each generated token is compared with all of them.
inline constexpr std::int64_t kMaxEosTokenIds = 1024;

// With every field at its bound, the per-layer products (heads * head_dim * hidden, hidden *
// intermediate), their sum over the layers and the embeddings stay far below int64, so once each
// field is within its bound no size product computed from the config can overflow.
static_assert(kMaxLayers * (4 * kMaxHeads * kMaxHeadDim * kMaxHiddenSize +
                            3 * kMaxHiddenSize * kMaxIntermediateSize) +
                      2 * kMaxVocabSize * kMaxHiddenSize <
                  (std::int64_t{1} << 62),
              "config bounds must keep parameter counts far from int64 overflow");

}  // namespace tessera::runtime::config_limits
