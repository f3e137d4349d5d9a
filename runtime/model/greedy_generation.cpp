#include "runtime/model/greedy_generation.hpp"

#include "runtime/model/greedy_loop.hpp"

namespace tessera::runtime {

GreedyResult generate_greedy(Transformer& model, std::span<const std::int32_t> prompt,
                             const GreedyOptions& options,
                             const std::function<void(std::int32_t)>& on_token) {
  Backend& backend = model.backend();
  return run_greedy_loop(
      model, prompt, options, on_token,
      [&backend](const Tensor& logits) { return backend.argmax_rows(logits).front(); },
      /*keep_prompt_logits=*/true);
}

}  // namespace tessera::runtime
