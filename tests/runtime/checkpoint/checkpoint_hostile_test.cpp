// Hostile safetensors headers and indexes: numbers at the edge of uint64/int64, nesting, paths out
// of the folder. Each must be refused at open with the file and the fault named.
#include <gtest/gtest.h>

#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tessera::runtime {
namespace {

using C = ErrorCategory;

Error open_error(const test::TempDir& dir) {
  return test::expect_error([&] { (void)Checkpoint::open(dir.path()); });
}

Error open_single(const test::TempDir& dir, const std::string& header) {
  test::write_file(dir / "model.safetensors", test::raw_safetensors(header));
  return open_error(dir);
}

// The final product is 0 and fits, but 2^62 * 2 overflowed int64 in TensorInfo::numel(), which
// multiplies in the same order (UBSan: signed integer overflow) before this was refused.
TEST(CheckpointHostile, PartialShapeProductPastInt64) {
  test::TempDir dir;
  const Error e = open_single(
      dir, R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 2, 0], "data_offsets": [0, 0]}})");
  test::expect_error_mentions(e, C::checkpoint, {"model.safetensors", "'w'", "too many elements"});
}

TEST(CheckpointHostile, DimensionPastInt64BehindAZero) {
  test::TempDir dir;
  const Error e = open_single(
      dir, R"({"w": {"dtype": "F32", "shape": [0, 18446744073709551615], "data_offsets": [0, 0]}})");
  test::expect_error_mentions(e, C::checkpoint, {"'w'", "too many elements"});
}

TEST(CheckpointHostile, ShapeProductPastUint64) {
  test::TempDir dir;
  const Error e = open_single(
      dir, R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 2], "data_offsets": [0, 0]}})");
  test::expect_error_mentions(e, C::checkpoint, {"'w'", "too many elements"});
}

TEST(CheckpointHostile, OffsetsAtUint64Max) {
  test::TempDir dir;
  const Error e = open_single(
      dir, R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [18446744073709551615, 18446744073709551615]}})");
  test::expect_error_mentions(e, C::checkpoint, {"'w'", "past the data buffer"});
}

TEST(CheckpointHostile, DeeplyNestedIndex) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors.index.json",
                   R"({"weight_map": {"a": )" + std::string(100'000, '[') +
                       std::string(100'000, ']') + "}}");
  test::expect_error_mentions(open_error(dir), C::checkpoint,
                              {"model.safetensors.index.json", "nests deeper than"});
}

TEST(CheckpointHostile, IndexNumberOverflowingADouble) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors.index.json",
                   R"({"metadata": {"total_size": 1e400}, "weight_map": {"a": "x.safetensors"}})");
  test::expect_error_mentions(open_error(dir), C::checkpoint,
                              {"model.safetensors.index.json", "not valid JSON"});
}

TEST(CheckpointHostile, IndexShardOutsideTheFolder) {
  for (const char* shard : {"/etc/passwd", "..", "sub/../../x.safetensors", "a\\..\\b", ""}) {
    test::TempDir dir;
    test::write_file(dir / "model.safetensors.index.json",
                     nlohmann::json{{"weight_map", {{"a", shard}}}}.dump());
    test::expect_error_mentions(open_error(dir), C::checkpoint, {"'a'", "plain file name"});
  }
}

}  // namespace
}  // namespace tessera::runtime
