// The Engine end to end on the golden fixture models (CPU backend): greedy output equals HF's,
// a request's output does not depend on its batch (nor on preemption), seeded sampling repeats,
// cancellation and shutdown end requests and give every block back, bad requests get errors.
// Every wait has a deadline; nothing here is a performance assertion.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <mutex>

#include "actors/engine.hpp"
#include "runtime/core/error.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::actors {
namespace {

using namespace std::chrono_literals;
using testing::fixture_model_names;
using testing::fixture_models_dir;
using testing::read_json_file;

constexpr auto kDeadline = 60s;

struct Outcome {
  std::vector<std::int32_t> tokens;
  FinalEvent final;
};

// Collects a request's tokens from its events.
struct Collector {
  std::mutex mutex;
  std::vector<std::int32_t> tokens;
  std::function<void(const TokenEvent&)> callback() {
    return [this](const TokenEvent& e) {
      std::lock_guard lock(mutex);
      tokens.insert(tokens.end(), e.token_ids.begin(), e.token_ids.end());
    };
  }
};

// The CPU backend: these tests hold the engine to HF's f32 tokens exactly, which bf16 weights on
// a GPU need not reproduce (tests/actors_cuda holds the CUDA engine to its own rule).
EngineConfig config_for(const std::string& model, int tp = 1) {
  EngineConfig c;
  c.model_dir = fixture_models_dir() / model;
  c.tensor_parallel = tp;
  c.device = DeviceKind::cpu;
  c.actor_threads = 2;
  return c;
}

// Submits every request at once, then waits for all of them.
std::vector<Outcome> run_all(Engine& engine, const std::vector<GenerateRequest>& requests) {
  std::vector<std::unique_ptr<Collector>> collectors;
  std::vector<RequestHandle> handles;
  for (const auto& r : requests) {
    collectors.push_back(std::make_unique<Collector>());
    handles.push_back(engine.submit(r, collectors.back()->callback()));
  }
  std::vector<Outcome> out;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    auto final = handles[i].wait_for(kDeadline);
    if (!final) {
      ADD_FAILURE() << "request " << i << " got no final event in time";
      out.push_back({});
      continue;
    }
    std::lock_guard lock(collectors[i]->mutex);
    out.push_back({collectors[i]->tokens, *final});
  }
  return out;
}

GenerateRequest greedy(std::vector<std::int32_t> prompt, std::int64_t max_tokens,
                       bool ignore_eos = false) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0.0f;
  r.ignore_eos = ignore_eos;
  return r;
}

// Different prompts of different lengths over the fixture's vocabulary.
std::vector<GenerateRequest> mixed_requests(std::int64_t vocab, int count, std::int64_t max_tokens) {
  std::vector<GenerateRequest> out;
  for (int i = 0; i < count; ++i) {
    std::vector<std::int32_t> prompt;
    for (int t = 0; t < 3 + (i * 5) % 17; ++t) {
      prompt.push_back(static_cast<std::int32_t>((31 * i + 17 * t + 5) % vocab));
    }
    out.push_back(greedy(prompt, max_tokens, true));
  }
  return out;
}

class EngineGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineGolden, GreedyEqualsHfAllCasesAtOnce) {
  const auto golden = read_json_file(fixture_models_dir() / GetParam() / "golden.json");
  auto engine = Engine::start(config_for(GetParam()));
  std::vector<GenerateRequest> requests;
  for (const auto& c : golden.at("cases")) {
    requests.push_back(greedy(c.at("prompt_ids").get<std::vector<std::int32_t>>(),
                              c.at("max_new_tokens").get<std::int64_t>()));
  }
  const auto outcomes = run_all(*engine, requests);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto expected = golden.at("cases").at(i).at("generated_ids").get<std::vector<std::int32_t>>();
    EXPECT_EQ(outcomes[i].tokens, expected) << "case " << i;
    EXPECT_EQ(outcomes[i].final.completion_tokens, std::ssize(expected));
    EXPECT_TRUE(outcomes[i].final.finish_reason == "stop" || outcomes[i].final.finish_reason == "length");
  }
  const auto stats = engine->stats();
  EXPECT_EQ(stats.free_blocks, stats.total_blocks);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EngineGolden, ::testing::ValuesIn(fixture_model_names()));

TEST(Engine, GreedyOutputIsBatchInvariantEvenUnderPreemption) {
  const std::string model = "llama2";
  const auto requests = mixed_requests(256, 16, 24);
  std::vector<Outcome> alone;
  {
    auto engine = Engine::start(config_for(model));
    for (const auto& r : requests) alone.push_back(run_all(*engine, {r}).front());
  }
  {
    auto engine = Engine::start(config_for(model));
    const auto together = run_all(*engine, requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(together[i].tokens, alone[i].tokens) << "request " << i << " among 16";
      EXPECT_EQ(together[i].final.finish_reason, "length");
    }
  }
  {
    auto config = config_for(model);
    config.block_size = 4;
    config.kv_blocks = 24;  // 96 tokens for 16 requests of up to 43: preemption is certain
    config.max_batch_tokens = 32;
    auto engine = Engine::start(config);
    const auto squeezed = run_all(*engine, requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(squeezed[i].tokens, alone[i].tokens) << "request " << i << " with preemption";
    }
    const auto stats = engine->stats();
    EXPECT_GT(stats.preemptions, 0);
    EXPECT_EQ(stats.free_blocks, stats.total_blocks);
  }
}

TEST(Engine, SeededSamplingRepeatsAcrossRunsAndBatches) {
  const std::string model = "qwen3_qknorm";
  auto sampled = [](std::vector<std::int32_t> prompt) {
    GenerateRequest r = greedy(std::move(prompt), 12, true);
    r.sampling.temperature = 0.8f;
    r.sampling.seed = 7;
    return r;
  };
  const auto target = sampled({5, 9, 20, 41});
  std::vector<std::int32_t> first;
  {
    auto engine = Engine::start(config_for(model));
    first = run_all(*engine, {target}).front().tokens;
    EXPECT_EQ(run_all(*engine, {target}).front().tokens, first);
  }
  auto engine = Engine::start(config_for(model));
  auto batch = mixed_requests(engine->model_config().vocab_size, 8, 12);
  for (std::size_t i = 0; i < batch.size(); i += 2) batch[i] = sampled(batch[i].prompt);
  batch.insert(batch.begin() + 3, target);
  EXPECT_EQ(run_all(*engine, batch).at(3).tokens, first);
  ASSERT_EQ(first.size(), 12u);
}

TEST(Engine, CancelEndsTheRequestAndFreesItsBlocks) {
  auto engine = Engine::start(config_for("llama2"));
  std::vector<RequestHandle> handles;
  for (const auto& r : mixed_requests(256, 4, 200)) handles.push_back(engine->submit(r));
  auto quick = engine->submit(greedy({1, 2, 3}, 4, true));
  ASSERT_TRUE(quick.wait_for(kDeadline).has_value());
  for (auto& h : handles) h.cancel();
  for (auto& h : handles) {
    auto final = h.wait_for(kDeadline);
    ASSERT_TRUE(final.has_value());
    EXPECT_TRUE(final->finish_reason == "cancelled" || final->finish_reason == "length");
  }
  engine->cancel(handles.front().id());  // cancelling again is harmless
  const auto stats = engine->stats();
  EXPECT_EQ(stats.free_blocks, stats.total_blocks);
  EXPECT_EQ(stats.running + stats.waiting, 0);
}

TEST(Engine, InvalidRequestsGetErrorsNamingTheField) {
  auto engine = Engine::start(config_for("llama2"));
  auto error_of = [&](GenerateRequest r) {
    auto final = engine->submit(std::move(r)).wait_for(kDeadline);
    EXPECT_TRUE(final.has_value());
    EXPECT_EQ(final->finish_reason, "error");
    return final ? final->failure.message : std::string{};
  };
  EXPECT_NE(error_of(greedy({}, 4)).find("prompt"), std::string::npos);
  EXPECT_NE(error_of(greedy({1, 256}, 4)).find("prompt[1]"), std::string::npos);
  EXPECT_NE(error_of(greedy({1, -3}, 4)).find("prompt[1]"), std::string::npos);
  EXPECT_NE(error_of(greedy({1}, 0)).find("max_tokens"), std::string::npos);
  EXPECT_NE(error_of(greedy({1}, 1'000'000)).find("max_tokens"), std::string::npos);
  // The fixture's context (256 positions) is smaller than its KV pool, so the message names the
  // context; a max_tokens that would overflow prompt + max_tokens is refused, not wrapped round.
  EXPECT_NE(error_of(greedy({1, 2}, 255)).find("exceed the model's context of 256 tokens"),
            std::string::npos);
  EXPECT_NE(error_of(greedy({1}, std::numeric_limits<std::int64_t>::max())).find("max_tokens"),
            std::string::npos);
  auto hot = greedy({1}, 4);
  hot.sampling.temperature = -1.0f;
  EXPECT_NE(error_of(hot).find("sampling.temperature"), std::string::npos);
  auto stop = greedy({1}, 4);
  stop.stop = {"x"};
  EXPECT_NE(error_of(stop).find("stop"), std::string::npos);  // no tokenizer in the fixture
  auto stop_id = greedy({1}, 4);
  stop_id.stop_token_ids = {3, 256};  // the fixture's vocabulary is 256 ids
  EXPECT_NE(error_of(stop_id).find("stop_token_ids[1]"), std::string::npos);
  // Good requests beside bad ones are unaffected.
  auto good = engine->submit(greedy({215, 247, 181, 72, 236}, 3)).wait_for(kDeadline);
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->finish_reason, "length");
}

TEST(Engine, BadConfigIsRefusedNamingTheField) {
  auto config = config_for("llama2");
  config.block_size = 0;
  try {
    Engine::start(config);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block_size"), std::string::npos);
  }
  config = config_for("llama2", 3);  // 4 heads do not split over 3 ranks
  EXPECT_THROW(Engine::start(config), Error);
  config = config_for("llama2");
  config.collective_timeout = std::chrono::milliseconds(0);
  try {
    Engine::start(config);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("collective_timeout must be positive (got 0 ms)"),
              std::string::npos)
        << e.what();
  }
}

TEST(Engine, ShutdownWithRequestsInFlightEndsThemPromptly) {
  auto engine = Engine::start(config_for("mistral_sliding"));
  std::vector<RequestHandle> handles;
  for (const auto& r : mixed_requests(engine->model_config().vocab_size, 16, 200)) {
    handles.push_back(engine->submit(r));
  }
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  engine->shutdown();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 1s);
  for (auto& h : handles) {
    auto final = h.wait_for(1s);
    ASSERT_TRUE(final.has_value());
    EXPECT_TRUE(final->finish_reason == "cancelled" || final->finish_reason == "error" ||
                final->finish_reason == "length")
        << final->finish_reason;
  }
  auto late = engine->submit(greedy({1, 2}, 2)).wait_for(1s);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->finish_reason, "error");
  engine.reset();  // destructor after shutdown: nothing left to do
}

TEST(Engine, TensorParallelTwoRanksMatchesGolden) {
  const std::string model = "llama2";
  const auto golden = read_json_file(fixture_models_dir() / model / "golden.json");
  auto engine = Engine::start(config_for(model, 2));
  std::vector<GenerateRequest> requests;
  for (const auto& c : golden.at("cases")) {
    requests.push_back(greedy(c.at("prompt_ids").get<std::vector<std::int32_t>>(),
                              c.at("max_new_tokens").get<std::int64_t>()));
  }
  const auto outcomes = run_all(*engine, requests);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    EXPECT_EQ(outcomes[i].tokens,
              golden.at("cases").at(i).at("generated_ids").get<std::vector<std::int32_t>>());
  }
}

}  // namespace
}  // namespace tessera::actors
