#pragma once
// The prefill-then-decode loop shared by single-rank and lockstep (tensor-parallel) greedy
// generation. The two differ only in how a step's logits become the next token, so that choice is
// the one thing passed in.
#include <cstdint>
#include <functional>
#include <span>

#include "runtime/model/greedy_generation.hpp"

namespace tessera::runtime {

// Chooses the next token from one step's logits (as Transformer::forward returned them on this
// rank). In a group, every rank must return the same id.
using NextTokenChooser = std::function<std::int32_t(const Tensor& logits)>;

// `keep_prompt_logits`: copy the prompt's last logits into the result (false on ranks whose
// forward returns only a vocabulary block).
GreedyResult run_greedy_loop(Transformer& model, std::span<const std::int32_t> prompt,
                             const GreedyOptions& options,
                             const std::function<void(std::int32_t)>& on_token,
                             const NextTokenChooser& choose, bool keep_prompt_logits);

}  // namespace tessera::runtime
