#pragma once
// How one request turns logits into its next token. Validated where a request enters
// (`validate`), so the sampling code itself can trust every value.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tessera::runtime {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy (argmax); otherwise > 0
  std::int32_t top_k = 0;           // 0: off; else keep the k most likely tokens
  float top_p = 1.0f;               // (0, 1]: keep the smallest set whose probability reaches p
  float min_p = 0.0f;               // [0, 1]: drop tokens below min_p · p(most likely)
  float repetition_penalty = 1.0f;  // > 0; HF semantics over prompt and output tokens
  float presence_penalty = 0.0f;    // [-2, 2]; OpenAI semantics over output tokens
  float frequency_penalty = 0.0f;   // [-2, 2]; OpenAI semantics over output tokens
  std::optional<std::uint64_t> seed;  // same seed, same prompt: same tokens, whatever the batch
  bool logprobs = false;            // report the chosen token's log-probability
  std::int32_t top_logprobs = 0;    // [0, 20]: also report this many most likely alternatives

  bool greedy() const { return temperature == 0.0f; }
  // Throws Error(invalid_argument) naming the field (as `prefix` + field name) and its range.
  void validate(const std::string& prefix = "") const;
};

}  // namespace tessera::runtime
