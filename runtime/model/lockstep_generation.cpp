#include "runtime/model/lockstep_generation.hpp"

#include <bit>
#include <string>

#include "runtime/core/error.hpp"
#include "runtime/model/greedy_loop.hpp"

namespace tessera::runtime {

GreedyResult generate_greedy_lockstep(Transformer& model, Communicator& communicator,
                                      std::span<const std::int32_t> prompt,
                                      const GreedyOptions& options,
                                      const std::function<void(std::int32_t)>& on_token) {
  const ShardPlan& plan = model.plan();
  plan.require_group(communicator.rank(), communicator.size());
  // The group's first rank holds the gathered logits (Transformer::forward), so it chooses.
  constexpr int chooser = 0;
  const bool root = communicator.rank() == chooser;
  Backend& backend = model.backend();
  // The token travels as the bit pattern of one f32 element: broadcast copies bytes and never
  // does arithmetic on them, so every int32 id arrives exactly.
  Tensor token = Tensor::host_f32({1});
  auto choose = [&](const Tensor& logits) {
    if (root) token.data<float>()[0] = std::bit_cast<float>(backend.argmax_rows(logits).front());
    communicator.broadcast(token, chooser);
    return std::bit_cast<std::int32_t>(token.data<float>()[0]);
  };
  return run_greedy_loop(model, prompt, options, on_token, choose, root);
}

}  // namespace tessera::runtime
