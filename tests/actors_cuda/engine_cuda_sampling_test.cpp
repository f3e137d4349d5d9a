// The Engine sampling on a CUDA GPU (CudaBackend::sample_rows, rank 0's logits never copied to
// the host): a seeded request repeats across runs and engines, and gives the same tokens alone
// and among other requests, sampled and greedy, with penalties and log-probabilities. Skipped
// without a GPU.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>

#include "actors/engine.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::actors {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::vector<std::int32_t> tokens;
  std::vector<float> logprobs;
};

EngineConfig cuda_config(const std::string& model) {
  EngineConfig c;
  c.model_dir = testing::fixture_models_dir() / model;
  c.device = DeviceKind::cuda;
  c.actor_threads = 2;
  return c;
}

GenerateRequest request(std::vector<std::int32_t> prompt, float temperature, std::uint64_t seed) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = 12;
  r.ignore_eos = true;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  return r;
}

// Submits every request at once and waits for all (60 s each at most).
std::vector<Outcome> run_all(Engine& engine, const std::vector<GenerateRequest>& requests) {
  struct Collector {
    std::mutex mutex;
    Outcome outcome;
  };
  std::vector<std::unique_ptr<Collector>> collectors;
  std::vector<RequestHandle> handles;
  for (const auto& r : requests) {
    collectors.push_back(std::make_unique<Collector>());
    Collector* c = collectors.back().get();
    handles.push_back(engine.submit(r, [c](const TokenEvent& e) {
      std::lock_guard lock(c->mutex);
      c->outcome.tokens.insert(c->outcome.tokens.end(), e.token_ids.begin(), e.token_ids.end());
      c->outcome.logprobs.insert(c->outcome.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
    }));
  }
  std::vector<Outcome> out;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    const auto final = handles[i].wait_for(60s);
    EXPECT_TRUE(final.has_value()) << "request " << i << " got no final event within 60 s";
    if (final) {
      EXPECT_NE(final->finish_reason, "error") << final->failure.message;
    }
    std::lock_guard lock(collectors[i]->mutex);
    out.push_back(collectors[i]->outcome);
  }
  return out;
}

TEST(EngineCudaSampling, SeededSamplingRepeatsAcrossRunsAndBatches) {
  SKIP_WITHOUT_GPU();
  const std::string model = "qwen3_qknorm";
  GenerateRequest target = request({5, 9, 20, 41}, 0.8f, 7);
  target.sampling.top_p = 0.9f;
  target.sampling.repetition_penalty = 1.1f;
  target.sampling.logprobs = true;
  target.sampling.top_logprobs = 3;
  Outcome first;
  {
    auto engine = Engine::start(cuda_config(model));
    ASSERT_EQ(engine->device(), DeviceKind::cuda);
    first = run_all(*engine, {target}).front();
    const Outcome again = run_all(*engine, {target}).front();
    EXPECT_EQ(again.tokens, first.tokens);
    EXPECT_EQ(again.logprobs, first.logprobs);
  }
  ASSERT_EQ(first.tokens.size(), 12u);
  ASSERT_EQ(first.logprobs.size(), 12u);
  for (const float lp : first.logprobs) EXPECT_TRUE(std::isfinite(lp) && lp <= 0.0f) << lp;

  // A new engine, the request among others: sampled ones with other seeds and greedy ones.
  auto engine = Engine::start(cuda_config(model));
  const std::int64_t vocab = engine->model_config().vocab_size;
  std::vector<GenerateRequest> batch;
  for (int i = 0; i < 8; ++i) {
    std::vector<std::int32_t> prompt;
    for (int t = 0; t < 3 + (i * 5) % 17; ++t) {
      prompt.push_back(static_cast<std::int32_t>((31 * i + 17 * t + 5) % vocab));
    }
    batch.push_back(request(prompt, i % 2 == 0 ? 0.0f : 1.2f, 100 + static_cast<std::uint64_t>(i)));
    if (i % 3 == 0) batch.back().sampling.top_k = 5;
  }
  batch.insert(batch.begin() + 3, target);
  const auto outcomes = run_all(*engine, batch);
  EXPECT_EQ(outcomes.at(3).tokens, first.tokens);
  // Log-probabilities come from the same logits; batching may move them by rounding only.
  ASSERT_EQ(outcomes.at(3).logprobs.size(), first.logprobs.size());
  for (std::size_t i = 0; i < first.logprobs.size(); ++i) {
    EXPECT_NEAR(outcomes.at(3).logprobs[i], first.logprobs[i], 1e-3) << "token " << i;
  }
  const auto stats = engine->stats();
  EXPECT_EQ(stats.free_blocks, stats.total_blocks);
}

}  // namespace
}  // namespace tessera::actors
