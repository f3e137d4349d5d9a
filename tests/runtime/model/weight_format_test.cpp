// The weight loader asks the backend which checkpoint formats it loads and refuses any other by
// the tensor's name, before a byte is read; what it loads carries the format the backend holds.
#include <gtest/gtest.h>

#include "runtime/backend/cpu_backend.hpp"
#include "runtime/model/weight_loader.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tessera::runtime {
namespace {

TEST(WeightFormats, TheCpuBackendHoldsDenseFormatsAsF32AndRefusesFp8ByName) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors",
                   test::safetensors({{"dense", "BF16", {2, 2}, test::u16_bytes({0x3F80, 0x4000, 0xC040, 0x0000})},
                                      {"fp8", "F8_E4M3", {2, 2}, std::string("\x38\x40\xb8\x00", 4)}}));
  const auto checkpoint = Checkpoint::open(dir.path());
  CpuBackend cpu;
  WeightLoader loader(checkpoint, cpu);

  const Weight dense = loader.whole("dense", {2, 2});
  EXPECT_EQ(dense.format, WeightFormat::f32);
  EXPECT_EQ(dense.scales.layout, ScaleLayout::none);
  const float* values = dense.data.data<float>();
  EXPECT_EQ((std::vector<float>(values, values + 4)), (std::vector<float>{1.0f, 2.0f, -3.0f, 0.0f}));

  test::expect_error_mentions(test::expect_error([&] { (void)loader.whole("fp8", {2, 2}); }),
                              ErrorCategory::unsupported,
                              {"fp8", "F8_E4M3", "cpu backend", "F32, F16, BF16"});
}

}  // namespace
}  // namespace tessera::runtime
