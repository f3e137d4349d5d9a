#pragma once
// Greedy generation across the ranks of a tensor-parallel group. Every rank calls this with its
// own shard of the model and its communicator; each step all ranks run forward on the same batch
// (the collectives inside forward need every rank), the group's first rank picks the argmax of
// the gathered logits and broadcasts it, so every rank feeds the same next token and stops at
// the same step.
#include <cstdint>
#include <functional>
#include <span>

#include "runtime/comm/communicator.hpp"
#include "runtime/model/greedy_generation.hpp"

namespace tessera::runtime {

// Every rank returns the same token_ids and finish_reason; last_prompt_logits is filled on the
// group's first rank only (other ranks hold just a vocabulary block). `on_token` is called on
// every rank. Throws Error(invalid_argument) when `communicator` is not the group the model was
// sharded for.
GreedyResult generate_greedy_lockstep(Transformer& model, Communicator& communicator,
                                      std::span<const std::int32_t> prompt,
                                      const GreedyOptions& options,
                                      const std::function<void(std::int32_t)>& on_token = {});

}  // namespace tessera::runtime
