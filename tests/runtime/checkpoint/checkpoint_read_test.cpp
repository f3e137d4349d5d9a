// Reading tensors back: dtype conversion with known bit patterns, and row / column slices.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tessera::runtime {
namespace {

using C = ErrorCategory;

// A 3x4 f32 matrix holding 10*row + col, a 1-D vector, a 3-D tensor and a scalar.
struct Fixture {
  test::TempDir dir;
  Checkpoint ckpt;
  Fixture() : ckpt(open(dir)) {}
  static Checkpoint open(const test::TempDir& d) {
    std::vector<float> m;
    for (int r = 0; r < 3; ++r) for (int c = 0; c < 4; ++c) m.push_back(static_cast<float>(10 * r + c));
    test::write_file(d / "model.safetensors",
                     test::safetensors({{"m", "F32", {3, 4}, test::f32_bytes(m)},
                                        {"v", "BF16", {5}, test::u16_bytes({0x3F80, 0x4000, 0x4040, 0x4080, 0x40A0})},
                                        {"cube", "F16", {2, 1, 2}, test::u16_bytes({0x3C00, 0x4000, 0x4200, 0x4400})},
                                        {"s", "F32", {}, test::f32_bytes({7.5f})},
                                        {"empty", "F32", {0, 4}, ""}}));
    return Checkpoint::open(d.path());
  }
};

TEST(CheckpointRead, Bf16Conversion) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors",
                   test::safetensors({{"x", "BF16", {4}, test::u16_bytes({0x3FC0, 0xBFC0, 0x0000, 0xC2F6})}}));
  const auto ckpt = Checkpoint::open(dir.path());
  EXPECT_EQ(ckpt.tensor("x").dtype, DType::bf16);
  EXPECT_EQ(ckpt.read_f32("x"), (std::vector<float>{1.5f, -1.5f, 0.0f, -123.0f}));
}

TEST(CheckpointRead, F16Conversion) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors",
                   test::safetensors({{"x", "F16", {5}, test::u16_bytes({0x3C00, 0x0001, 0xC000, 0x7BFF, 0x8400})}}));
  const auto ckpt = Checkpoint::open(dir.path());
  const auto x = ckpt.read_f32("x");
  ASSERT_EQ(x.size(), 5u);
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(x[2], -2.0f);
  EXPECT_EQ(x[3], 65504.0f);  // largest finite half
  EXPECT_EQ(x[4], -std::ldexp(1.0f, -14));  // smallest negative normal
}

// OCP FP8 E4M3 ("fn") bit patterns from the OCP 8-bit floating point specification's table.
TEST(CheckpointRead, F8E4M3Conversion) {
  test::TempDir dir;
  const std::string bytes("\x38\xb8\x40\x7e\x01\x08\x00\x7f", 8);
  test::write_file(dir / "model.safetensors", test::safetensors({{"x", "F8_E4M3", {8}, bytes}}));
  const auto ckpt = Checkpoint::open(dir.path());
  EXPECT_EQ(ckpt.tensor("x").dtype, DType::f8_e4m3);
  const auto x = ckpt.read_f32("x");
  ASSERT_EQ(x.size(), 8u);
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], -1.0f);
  EXPECT_EQ(x[2], 2.0f);
  EXPECT_EQ(x[3], 448.0f);                  // largest finite
  EXPECT_EQ(x[4], std::ldexp(1.0f, -9));    // smallest subnormal
  EXPECT_EQ(x[5], std::ldexp(1.0f, -6));    // smallest normal
  EXPECT_EQ(x[6], 0.0f);
  EXPECT_TRUE(std::isnan(x[7]));            // the only NaN; there is no infinity
}

// A 1-byte weight is read as stored, slice by slice, for a backend that keeps it as FP8.
TEST(CheckpointRead, RawBytesOfAColumnBlock) {
  test::TempDir dir;
  std::string bytes;
  for (int i = 0; i < 12; ++i) bytes.push_back(static_cast<char>(i));  // 3x4, element = 4r + c
  test::write_file(dir / "model.safetensors", test::safetensors({{"w", "F8_E4M3", {3, 4}, bytes}}));
  const auto ckpt = Checkpoint::open(dir.path());
  std::vector<std::byte> block(6);
  ckpt.read_raw("w", block, {.col_begin = 1, .col_end = 3});
  const std::vector<int> expected{1, 2, 5, 6, 9, 10};
  for (std::size_t i = 0; i < block.size(); ++i) EXPECT_EQ(std::to_integer<int>(block[i]), expected[i]);
  std::vector<std::byte> rows(4);
  ckpt.read_raw("w", rows, {.row_begin = 2, .row_end = 3});
  EXPECT_EQ(std::to_integer<int>(rows[3]), 11);
  std::vector<std::byte> wrong(5);
  test::expect_error_mentions(test::expect_error([&] { ckpt.read_raw("w", wrong, {.col_begin = 1, .col_end = 3}); }),
                              C::checkpoint, {"'w'", "5 bytes", "6 elements"});
}

TEST(CheckpointRead, F32Passthrough) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors",
                   test::safetensors({{"x", "F32", {2, 2}, test::f32_bytes({-0.25f, 3.0e38f, 1e-45f, 42.0f})}}));
  const auto ckpt = Checkpoint::open(dir.path());
  EXPECT_EQ(ckpt.read_f32("x"), (std::vector<float>{-0.25f, 3.0e38f, 1e-45f, 42.0f}));
  EXPECT_EQ(ckpt.tensor("x").shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(ckpt.tensor("x").numel(), 4);
  EXPECT_EQ(ckpt.tensor("x").nbytes, 16u);
}

TEST(CheckpointRead, NamesListsEveryTensorButMetadata) {
  Fixture f;
  EXPECT_EQ(f.ckpt.names(), (std::vector<std::string>{"cube", "empty", "m", "s", "v"}));
  EXPECT_EQ(f.ckpt.directory(), f.dir.path());
}

TEST(CheckpointRead, RowSlice) {
  Fixture f;
  EXPECT_EQ(f.ckpt.read_f32("m", {.row_begin = 1, .row_end = 3}),
            (std::vector<float>{10, 11, 12, 13, 20, 21, 22, 23}));
}

TEST(CheckpointRead, ColumnSlice) {
  Fixture f;
  EXPECT_EQ(f.ckpt.read_f32("m", {.col_begin = 1, .col_end = 3}),
            (std::vector<float>{1, 2, 11, 12, 21, 22}));
}

TEST(CheckpointRead, RowAndColumnSlice) {
  Fixture f;
  std::vector<float> out(2);
  f.ckpt.read_f32("m", out, {.row_begin = 2, .row_end = 3, .col_begin = 2, .col_end = -1});
  EXPECT_EQ(out, (std::vector<float>{22, 23}));
}

TEST(CheckpointRead, EmptySliceReadsNothing) {
  Fixture f;
  EXPECT_TRUE(f.ckpt.read_f32("m", {.row_begin = 2, .row_end = 2}).empty());
  EXPECT_TRUE(f.ckpt.read_f32("empty").empty());
}

TEST(CheckpointRead, OneDimensionalRowSlice) {
  Fixture f;
  EXPECT_EQ(f.ckpt.read_f32("v", {.row_begin = 3}), (std::vector<float>{4, 5}));
}

TEST(CheckpointRead, ScalarAndHigherRankReadWhole) {
  Fixture f;
  EXPECT_EQ(f.ckpt.read_f32("s"), (std::vector<float>{7.5f}));
  EXPECT_EQ(f.ckpt.read_f32("cube"), (std::vector<float>{1, 2, 3, 4}));
}

TEST(CheckpointRead, HigherRankSliceRefused) {
  Fixture f;
  test::expect_error_mentions(test::expect_error([&] { (void)f.ckpt.read_f32("cube", {.row_end = 1}); }),
                              C::checkpoint, {"'cube'", "[2, 1, 2]"});
}

TEST(CheckpointRead, ColumnSliceOfVectorRefused) {
  Fixture f;
  test::expect_error_mentions(test::expect_error([&] { (void)f.ckpt.read_f32("v", {.col_end = 1}); }),
                              C::checkpoint, {"'v'", "rows only"});
}

TEST(CheckpointRead, SliceOutOfBounds) {
  Fixture f;
  test::expect_error_mentions(test::expect_error([&] { (void)f.ckpt.read_f32("m", {.row_end = 4}); }),
                              C::checkpoint, {"'m'", "row range", "size 3"});
  test::expect_error_mentions(
      test::expect_error([&] { (void)f.ckpt.read_f32("m", {.col_begin = 3, .col_end = 2}); }),
      C::checkpoint, {"'m'", "column range"});
  test::expect_error_mentions(test::expect_error([&] { (void)f.ckpt.read_f32("m", {.row_begin = -1}); }),
                              C::checkpoint, {"'m'", "row range"});
  test::expect_error_mentions(test::expect_error([&] { (void)f.ckpt.read_f32("m", {.row_end = -2}); }),
                              C::checkpoint, {"'m'", "row range"});
}

TEST(CheckpointRead, OutputSizeMismatch) {
  Fixture f;
  std::vector<float> out(5);
  test::expect_error_mentions(test::expect_error([&] { f.ckpt.read_f32("m", out, {.row_end = 1}); }),
                              C::checkpoint, {"'m'", "holds 5", "has 4"});
}

TEST(CheckpointRead, MovedCheckpointStaysReadable) {
  Fixture f;
  Checkpoint moved = std::move(f.ckpt);
  EXPECT_EQ(moved.read_f32("v", {.row_end = 1}), (std::vector<float>{1}));
}

}  // namespace
}  // namespace tessera::runtime
