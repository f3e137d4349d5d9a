// The flags every Engine command shares, through `tessera generate`: --device,
// --gpu-memory-utilization and the table's newer flags are checked and named when wrong, the KV
// cache flags reach the Engine that runs, --device cuda that this machine
// cannot give is a clear error (exit 1, never a crash), and the start-up lines and the JSON's
// "backend" tell the layout that really ran.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/cli_runner.hpp"
#include "tests/support/fixture_models.hpp"
#if TESSERA_HAS_CUDA
#include "runtime/backend/cuda_backend.hpp"
#endif

namespace tessera::testing {
namespace {

int gpus() {
#if TESSERA_HAS_CUDA
  return runtime::CudaBackend::device_count();
#else
  return 0;
#endif
}

std::string generate(const std::string& flags) {
  return "generate --model '" + (fixture_models_dir() / "llama2").string() +
         "' --prompt-ids 1,2,3 --max-tokens 2 " + flags;
}

void expect_refused(const std::string& flags, const std::vector<std::string>& mentions,
                    int exit_code = 1) {
  const auto r = run_tessera(generate(flags));
  EXPECT_EQ(r.exit_code, exit_code) << flags << "\nstderr: " << r.err;
  for (const auto& m : mentions) {
    EXPECT_NE(r.err.find(m), std::string::npos)
        << flags << ": stderr should mention '" << m << "' but was: " << r.err;
  }
}

TEST(EngineFlagsCli, BadDeviceIsNamed) {
  expect_refused("--device gpu", {"--device", "gpu", "auto, cpu or cuda"});
}

TEST(EngineFlagsCli, GpuMemoryUtilizationOutsideZeroToOneIsNamed) {
  for (const std::string value : {"0", "1.5", "-0.25"}) {
    expect_refused("--gpu-memory-utilization=" + value, {"--gpu-memory-utilization"});
  }
}

TEST(EngineFlagsCli, GpuMemoryUtilizationThatIsNoNumberIsNamed) {
  const auto r = run_tessera(generate("--gpu-memory-utilization most"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "crashed: " << r.err;
  EXPECT_NE(r.err.find("--gpu-memory-utilization"), std::string::npos) << r.err;
}

TEST(EngineFlagsCli, CudaThatCannotBeHadIsAClearError) {
  // One rank more than there are GPUs, whatever the machine (none here).
  const int ranks = gpus() + 1;
  expect_refused("--device cuda --tp " + std::to_string(ranks),
                 {"--device", TESSERA_HAS_CUDA ? "GPU" : "TESSERA_CUDA"});
}

TEST(EngineFlagsCli, JsonAndStartUpLinesTellTheRealLayout) {
  auto r = run_tessera(generate("--device cpu --json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("backend"), "cpu");
  EXPECT_NE(r.err.find("on 1 CPU rank"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("KV cache: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" blocks of 16 tokens ("), std::string::npos) << r.err;

  r = run_tessera(generate("--device cpu --tp 2 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("2 tensor-parallel CPU ranks"), std::string::npos) << r.err;

  const bool cuda = TESSERA_HAS_CUDA && gpus() >= 1;
  r = run_tessera(generate("--device auto --json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("backend"), cuda ? "cuda" : "cpu");
  EXPECT_NE(r.err.find(cuda ? "on 1 CUDA GPU" : "on 1 CPU rank"), std::string::npos) << r.err;
}

TEST(EngineFlagsCli, KvCacheFlagsReachTheEngine) {
  // The pool the Engine really allocated, as its start-up line reports it.
  const auto r = run_tessera(generate("--device cpu --kv-blocks 7 --kv-block-size 32 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("KV cache: 7 blocks of 32 tokens ("), std::string::npos) << r.err;
}

TEST(EngineFlagsCli, NewFlagsAreCheckedByName) {
  expect_refused("--kv-block-size 3", {"--kv-block-size", "power of two", "'3'"});
  expect_refused("--collective-timeout 0", {"--collective-timeout", "seconds"});
  expect_refused("--kv-memory 12MB", {"--kv-memory", "'12MB'"});
}

}  // namespace
}  // namespace tessera::testing
