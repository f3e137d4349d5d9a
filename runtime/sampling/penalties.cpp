#include <algorithm>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/sampling/token_sampler.hpp"

namespace tessera::runtime {
namespace {

std::size_t checked_index(std::int32_t id, std::size_t vocab) {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab) {
    throw Error(ErrorCategory::invalid_argument, "token id " + std::to_string(id) +
                                                     " is outside the " + std::to_string(vocab) +
                                                     " logits being sampled");
  }
  return static_cast<std::size_t>(id);
}

}  // namespace

void apply_penalties(std::span<float> logits, const SamplingParams& params,
                     const SamplingState& state) {
  const float repetition = params.repetition_penalty;
  if (repetition != 1.0f) {
    // Dividing a positive logit and multiplying a negative one both push the token towards
    // "less likely" (CTRL, as HF applies it); a token seen several times is penalised once.
    const auto penalize = [&](std::int32_t id) {
      float& logit = logits[checked_index(id, logits.size())];
      logit = logit > 0.0f ? logit / repetition : logit * repetition;
    };
    for (const std::int32_t id : state.prompt_tokens) penalize(id);
    for (const auto& [id, count] : state.output_counts) {
      if (count > 0 &&
          !std::binary_search(state.prompt_tokens.begin(), state.prompt_tokens.end(), id)) {
        penalize(id);
      }
    }
  }
  const float frequency = params.frequency_penalty;
  const float presence = params.presence_penalty;
  if (frequency != 0.0f || presence != 0.0f) {
    // Each token's update depends only on its own count, so the map's iteration order cannot
    // change the result.
    for (const auto& [id, count] : state.output_counts) {
      if (count <= 0) continue;
      logits[checked_index(id, logits.size())] -= penalty_offset(count, params);
    }
  }
}

void penalty_entries(const SamplingParams& params, const SamplingState& state, std::int64_t vocab,
                     std::vector<PenaltyEntry>& out) {
  out.clear();
  const bool repetition = params.repetition_penalty != 1.0f;
  const bool frequency = params.frequency_penalty != 0.0f || params.presence_penalty != 0.0f;
  if (!repetition && !frequency) return;
  const auto size = static_cast<std::size_t>(vocab);
  if (repetition) {
    for (const std::int32_t id : state.prompt_tokens) {
      out.push_back({static_cast<std::int32_t>(checked_index(id, size)), 1, 0.0f});
    }
  }
  const std::size_t prompt_entries = out.size();
  for (const auto& [id, count] : state.output_counts) {
    if (count <= 0) continue;
    checked_index(id, size);
    // A token both in the prompt and generated gets one entry: the prompt's, completed here.
    const auto in_prompt =
        std::lower_bound(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(prompt_entries),
                         id, [](const PenaltyEntry& e, std::int32_t v) { return e.id < v; });
    const float subtract = frequency ? penalty_offset(count, params) : 0.0f;
    if (in_prompt != out.begin() + static_cast<std::ptrdiff_t>(prompt_entries) &&
        in_prompt->id == id) {
      in_prompt->subtract = subtract;
    } else {
      out.push_back({id, repetition ? 1 : 0, subtract});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const PenaltyEntry& a, const PenaltyEntry& b) { return a.id < b.id; });
}

}  // namespace tessera::runtime
