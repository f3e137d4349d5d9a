#pragma once
// One sequence generated greedily on one transformer: prefill the prompt, then decode token by
// token until an end-of-sequence id or the token limit. The single-request path used by the
// command line and the golden tests; batched serving goes through the scheduler instead.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/model/transformer.hpp"

namespace tessera::runtime {

struct GreedyOptions {
  std::int64_t max_new_tokens = 16;
  std::vector<std::int64_t> stop_token_ids;  // generation stops after emitting one of these
  std::int64_t block_size = 16;
};

struct GreedyResult {
  std::vector<std::int32_t> token_ids;        // generated ids, a stop id included if hit
  std::vector<float> last_prompt_logits;      // logits at the prompt's last position
  std::string finish_reason;                  // "stop" or "length"
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

GreedyResult generate_greedy(Transformer& model, std::span<const std::int32_t> prompt,
                             const GreedyOptions& options,
                             const std::function<void(std::int32_t)>& on_token = {});

}  // namespace tessera::runtime
