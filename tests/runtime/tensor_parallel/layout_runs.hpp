#pragma once
// Runs a fixture model's golden cases under a parallel layout on the CPU, with threads as ranks
// joined through Gloo, and compares what the driver got with HF's goldens and the one-rank model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/model/greedy_generation.hpp"
#include "runtime/model/lockstep_generation.hpp"
#include "tests/runtime/comm/thread_ranks.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst;
}

inline runtime::GreedyOptions options_for(const nlohmann::json& golden_case,
                                          const std::vector<std::int64_t>& eos) {
  runtime::GreedyOptions options;
  options.max_new_tokens = golden_case.at("max_new_tokens").get<std::int64_t>();
  options.stop_token_ids = eos;
  options.block_size = 4;  // several blocks per sequence, as in the golden test
  return options;
}

// Every golden case of fixture `name` on the ranks of `layout` (one stage); results[rank][case].
inline std::vector<std::vector<runtime::GreedyResult>> run_layout(
    const std::string& name, const runtime::ParallelLayout& layout) {
  const auto dir = fixture_models_dir() / name;
  const auto config = runtime::ModelConfig::load(dir);
  const auto eos = runtime::GenerationConfig::load(dir).eos_token_ids;
  const auto golden = read_json_file(dir / "golden.json");
  const int world_size = layout.world_size();
  auto store = runtime::make_in_process_store();
  runtime::GlooOptions gloo_options;
  gloo_options.timeout = std::chrono::seconds(60);
  std::vector<std::vector<runtime::GreedyResult>> results(static_cast<std::size_t>(world_size));
  run_ranks(world_size, [&](int rank) {
    runtime::CpuBackend backend;
    runtime::GlooCommunicator communicator(store, rank, world_size, gloo_options);
    runtime::Transformer model(config, runtime::ShardPlan::make(config, layout, rank),
                               runtime::Checkpoint::open(dir), backend, communicator);
    for (const auto& c : golden.at("cases")) {
      const auto prompt = c.at("prompt_ids").get<std::vector<std::int32_t>>();
      results[static_cast<std::size_t>(rank)].push_back(
          runtime::generate_greedy_lockstep(model, communicator, prompt, options_for(c, eos)));
    }
  });
  return results;
}

// The driver's greedy tokens equal HF's exactly; its prompt logits match the one-rank model
// within 1e-4 (only the summation order of the all-reduces differs) and HF within 1e-3; every
// other rank fed and reports the same tokens and stop reason.
inline void expect_matches_golden_and_single_rank(const std::string& name,
                                                  const runtime::ParallelLayout& layout) {
  auto reference = load_fixture(name);
  const auto dir = fixture_models_dir() / name;
  const auto eos = runtime::GenerationConfig::load(dir).eos_token_ids;
  const auto& cases = reference->golden.at("cases");
  const auto results = run_layout(name, layout);

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto prompt = c.at("prompt_ids").get<std::vector<std::int32_t>>();
    const auto expected_ids = c.at("generated_ids").get<std::vector<std::int32_t>>();
    const auto golden_logits = c.at("last_prompt_logits").get<std::vector<float>>();
    const runtime::GreedyResult single =
        runtime::generate_greedy(*reference->model, prompt, options_for(c, eos));
    const runtime::GreedyResult& driver = results[0][i];
    SCOPED_TRACE("case " + std::to_string(i) + ", prompt of " + std::to_string(prompt.size()) +
                 " tokens, " + layout.describe());

    EXPECT_EQ(driver.token_ids, expected_ids);
    ASSERT_EQ(driver.last_prompt_logits.size(), golden_logits.size());
    EXPECT_LT(max_abs_diff(driver.last_prompt_logits, single.last_prompt_logits), 1e-4);
    EXPECT_LT(max_abs_diff(driver.last_prompt_logits, golden_logits), 1e-3);
    for (std::size_t rank = 1; rank < results.size(); ++rank) {
      const runtime::GreedyResult& other = results[rank][i];
      EXPECT_EQ(other.token_ids, driver.token_ids) << "rank " << rank;
      EXPECT_EQ(other.finish_reason, driver.finish_reason) << "rank " << rank;
      EXPECT_TRUE(other.last_prompt_logits.empty()) << "rank " << rank;
    }
  }
}

}  // namespace tessera::testing
