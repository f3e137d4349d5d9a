// The CUDA backend on whole fixture models: against HF's golden logits and greedy tokens (bf16
// weights here, so within a bf16 tolerance; tokens must match where the golden run's top-2 margin
// is large), and logits that must not depend on block size, chunking or batch neighbours.
// Skipped where no GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "runtime/backend/cuda_backend.hpp"
#include "runtime/model/greedy_generation.hpp"
#include "runtime/model/model_config.hpp"
#include "runtime/model/shard_plan.hpp"
#include "tests/backend_cuda/cuda_test_support.hpp"
#include "tests/support/batching_scenarios.hpp"
#include "tests/support/fixture_models.hpp"

namespace tessera::testing {
namespace {

using runtime::CudaBackend;


// ---------------------------------------------------------------------------------------------
// (2) and (3): whole models.

struct CudaFixture {
  CudaBackend backend;
  runtime::SingleRankCommunicator communicator;
  std::unique_ptr<runtime::Transformer> model;
  nlohmann::json golden;
  std::filesystem::path dir;
};

std::unique_ptr<CudaFixture> load_cuda_fixture(const std::string& name) {
  auto f = std::make_unique<CudaFixture>();
  f->dir = fixture_models_dir() / name;
  const auto config = runtime::ModelConfig::load(f->dir);
  const auto checkpoint = runtime::Checkpoint::open(f->dir);
  f->model = std::make_unique<runtime::Transformer>(config, runtime::ShardPlan::make(config, 0, 1),
                                                    checkpoint, f->backend, f->communicator);
  f->golden = read_json_file(f->dir / "golden.json");
  return f;
}

constexpr double kMarginForExactTokens = 0.5;

class CudaGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_P(CudaGolden, LogitsWithinBf16ToleranceAndTokensWhereMarginIsLarge) {
  auto f = load_cuda_fixture(GetParam());
  const auto eos = runtime::GenerationConfig::load(f->dir).eos_token_ids;
  ASSERT_FALSE(f->golden.at("cases").empty());
  std::size_t case_index = 0;
  for (const auto& c : f->golden.at("cases")) {
    const auto prompt = c.at("prompt_ids").get<std::vector<std::int32_t>>();
    const auto expected_ids = c.at("generated_ids").get<std::vector<std::int32_t>>();
    const auto expected_logits = c.at("last_prompt_logits").get<std::vector<float>>();
    const double margin = c.value("min_top2_margin", 0.0);
    runtime::GreedyOptions options;
    options.max_new_tokens = c.at("max_new_tokens").get<std::int64_t>();
    options.stop_token_ids = eos;
    options.block_size = 4;
    const auto result = runtime::generate_greedy(*f->model, prompt, options);
    const std::string label = GetParam() + " case " + std::to_string(case_index) + " (prompt of " +
                              std::to_string(prompt.size()) + " tokens, golden min top-2 margin " +
                              std::to_string(margin) + ")";

    ASSERT_EQ(result.last_prompt_logits.size(), expected_logits.size()) << label;
    const Diff d = diff_of(result.last_prompt_logits, expected_logits);
    const double tolerance = 0.05 * std::max(1.0, d.max_ref);
    std::cout << "[cuda] " << label << ": last-prompt logits max abs diff " << d.max_abs
              << " at " << d.at << " (tolerance " << tolerance << ")\n";
    EXPECT_LT(d.max_abs, tolerance) << label << ": logit " << d.at << " is "
                                    << result.last_prompt_logits[d.at] << ", golden "
                                    << expected_logits[d.at];

    std::size_t mismatch = 0;
    while (mismatch < result.token_ids.size() && mismatch < expected_ids.size() &&
           result.token_ids[mismatch] == expected_ids[mismatch]) {
      ++mismatch;
    }
    const bool identical = result.token_ids == expected_ids;
    std::ostringstream report;
    if (identical) {
      report << "tokens identical (" << expected_ids.size() << ")";
    } else {
      report << "tokens differ first at index " << mismatch << " (ours "
             << (mismatch < result.token_ids.size() ? std::to_string(result.token_ids[mismatch])
                                                    : std::string("<end>"))
             << ", golden "
             << (mismatch < expected_ids.size() ? std::to_string(expected_ids[mismatch])
                                                : std::string("<end>"))
             << "; lengths " << result.token_ids.size() << " and " << expected_ids.size() << ")";
    }
    std::cout << "[cuda] " << label << ": " << report.str()
              << (margin > kMarginForExactTokens ? " [required]" : " [reported only]") << "\n";
    if (margin > kMarginForExactTokens) {
      EXPECT_TRUE(identical) << label << ": " << report.str();
    }
    ++case_index;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaGolden, ::testing::ValuesIn(fixture_model_names()),
                         [](const auto& test_param) { return test_param.param; });

// Batching invariance, the scenarios of tests/runtime/model/batching_test.cpp on the GPU.
constexpr double kInvarianceTolerance = 1e-4;

std::vector<std::int32_t> prompt_of(const CudaFixture& f, std::size_t case_index) {
  return f.golden.at("cases").at(case_index).at("prompt_ids").get<std::vector<std::int32_t>>();
}

class CudaBatching : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};

TEST_P(CudaBatching, BlockSizeDoesNotMatter) {
  auto f = load_cuda_fixture(GetParam());
  const auto tokens = prompt_of(*f, 1);
  const auto reference = one_shot_logits(*f->model, tokens, 16);
  expect_close(GetParam() + " block size 1 vs 16", one_shot_logits(*f->model, tokens, 1),
               reference, kInvarianceTolerance);
  expect_close(GetParam() + " block size 3 vs 16", one_shot_logits(*f->model, tokens, 3),
               reference, kInvarianceTolerance);
}

// Chunks run GEMMs with other row counts than the one-shot prefill; should cuBLAS pick another
// algorithm for them, an f32 rounding difference can flip a bf16 rounding of some activation and
// the logits then differ by ~1e-3: a failure here with a diff of that size, while the block-size
// test passes, points at that rather than at paging.
TEST_P(CudaBatching, ChunkedPrefillEqualsOneShot) {
  auto f = load_cuda_fixture(GetParam());
  const auto tokens = prompt_of(*f, 1);
  expect_close(GetParam() + " chunked (3,1,5,4...) vs one-shot",
               chunked_prefill_logits(*f->model, tokens), one_shot_logits(*f->model, tokens, 4),
               kInvarianceTolerance);
}

TEST_P(CudaBatching, SequencesInOneBatchMatchTheirSoloRuns) {
  auto f = load_cuda_fixture(GetParam());
  const auto long_prompt = prompt_of(*f, 1);
  const auto short_prompt = prompt_of(*f, 0);
  const auto shared = two_sequences_sharing_steps(*f->model, long_prompt, short_prompt);
  expect_close(GetParam() + " short prompt beside another vs solo", shared.short_prompt,
               one_shot_logits(*f->model, short_prompt, 4), kInvarianceTolerance);
  expect_close(GetParam() + " long prompt in two batches vs solo", shared.long_prompt,
               one_shot_logits(*f->model, long_prompt, 4), kInvarianceTolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaBatching, ::testing::ValuesIn(fixture_model_names()),
                         [](const auto& test_param) { return test_param.param; });

}  // namespace
}  // namespace tessera::testing
