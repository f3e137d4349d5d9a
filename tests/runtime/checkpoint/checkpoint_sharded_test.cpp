// Sharded checkpoints: model.safetensors.index.json and the shard files it names.
#include <gtest/gtest.h>

#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tessera::runtime {
namespace {

using C = ErrorCategory;

void write_index(const test::TempDir& dir, const nlohmann::json& weight_map) {
  test::write_file(dir / "model.safetensors.index.json",
                   nlohmann::json{{"metadata", {{"total_size", 24}}}, {"weight_map", weight_map}}.dump());
}

void write_two_shards(const test::TempDir& dir) {
  test::write_file(dir / "model-00001-of-00002.safetensors",
                   test::safetensors({{"a", "F32", {2}, test::f32_bytes({1, 2})},
                                      {"b", "BF16", {2}, test::u16_bytes({0x3FC0, 0xC000})}}));
  test::write_file(dir / "model-00002-of-00002.safetensors",
                   test::safetensors({{"c", "F16", {1, 2}, test::u16_bytes({0x3C00, 0x0001})}}));
}

Error open_error(const test::TempDir& dir) {
  return test::expect_error([&] { (void)Checkpoint::open(dir.path()); });
}

TEST(CheckpointSharded, ReadsAcrossTwoFiles) {
  test::TempDir dir;
  write_two_shards(dir);
  write_index(dir, {{"a", "model-00001-of-00002.safetensors"},
                    {"b", "model-00001-of-00002.safetensors"},
                    {"c", "model-00002-of-00002.safetensors"}});
  const auto ckpt = Checkpoint::open(dir.path());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ckpt.read_f32("a"), (std::vector<float>{1, 2}));
  EXPECT_EQ(ckpt.read_f32("b"), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(ckpt.read_f32("c", {.col_begin = 1}), (std::vector<float>{std::ldexp(1.0f, -24)}));
  EXPECT_EQ(ckpt.tensor("c").file, dir / "model-00002-of-00002.safetensors");
}

TEST(CheckpointSharded, IndexPreferredOverSingleFile) {
  test::TempDir dir;
  write_two_shards(dir);
  write_index(dir, {{"a", "model-00001-of-00002.safetensors"}, {"c", "model-00002-of-00002.safetensors"}});
  test::write_file(dir / "model.safetensors", "garbage");
  EXPECT_TRUE(Checkpoint::open(dir.path()).contains("c"));
}

TEST(CheckpointSharded, IndexPointsAtMissingShard) {
  test::TempDir dir;
  write_two_shards(dir);
  write_index(dir, {{"a", "model-00001-of-00002.safetensors"}, {"z", "model-00009-of-00009.safetensors"}});
  test::expect_error_mentions(open_error(dir), C::io,
                              {"model.safetensors.index.json", (dir / "model-00009-of-00009.safetensors").string(), "'z'"});
}

TEST(CheckpointSharded, TensorInIndexAbsentFromShard) {
  test::TempDir dir;
  write_two_shards(dir);
  write_index(dir, {{"a", "model-00001-of-00002.safetensors"}, {"ghost", "model-00002-of-00002.safetensors"}});
  test::expect_error_mentions(open_error(dir), C::checkpoint,
                              {"model.safetensors.index.json", "'ghost'", (dir / "model-00002-of-00002.safetensors").string()});
}

TEST(CheckpointSharded, TensorInIndexUnderWrongShard) {
  test::TempDir dir;
  write_two_shards(dir);
  write_index(dir, {{"a", "model-00002-of-00002.safetensors"},
                    {"b", "model-00001-of-00002.safetensors"},
                    {"c", "model-00002-of-00002.safetensors"}});
  test::expect_error_mentions(open_error(dir), C::checkpoint,
                              {"'a'", "does not contain it", "found in", "model-00001-of-00002.safetensors"});
}

TEST(CheckpointSharded, TensorInTwoShards) {
  test::TempDir dir;
  test::write_file(dir / "one.safetensors", test::safetensors({{"a", "F32", {1}, test::f32_bytes({1})}}));
  test::write_file(dir / "two.safetensors", test::safetensors({{"a", "F32", {1}, test::f32_bytes({2})}}));
  write_index(dir, {{"a", "one.safetensors"}, {"b", "two.safetensors"}});
  test::expect_error_mentions(open_error(dir), C::checkpoint,
                              {"'a'", (dir / "one.safetensors").string(), (dir / "two.safetensors").string()});
}

TEST(CheckpointSharded, ShardNameEscapesFolder) {
  test::TempDir dir;
  write_two_shards(dir);
  write_index(dir, {{"a", "../model-00001-of-00002.safetensors"}});
  test::expect_error_mentions(open_error(dir), C::checkpoint,
                              {"model.safetensors.index.json", "'a'", "plain file name"});
}

TEST(CheckpointSharded, MalformedIndexJson) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors.index.json", "{\"weight_map\": {");
  test::expect_error_mentions(open_error(dir), C::checkpoint, {"model.safetensors.index.json", "not valid JSON"});
}

TEST(CheckpointSharded, IndexWithoutWeightMap) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  test::expect_error_mentions(open_error(dir), C::checkpoint, {"model.safetensors.index.json", "weight_map"});
}

TEST(CheckpointSharded, WeightMapValueNotAString) {
  test::TempDir dir;
  write_index(dir, {{"a", 3}});
  test::expect_error_mentions(open_error(dir), C::checkpoint, {"model.safetensors.index.json", "'a'", "number"});
}

TEST(CheckpointSharded, BrokenShardNamesShard) {
  test::TempDir dir;
  write_two_shards(dir);
  test::write_file(dir / "model-00002-of-00002.safetensors", "\x01\x02");
  write_index(dir, {{"a", "model-00001-of-00002.safetensors"}, {"c", "model-00002-of-00002.safetensors"}});
  test::expect_error_mentions(open_error(dir), C::checkpoint, {(dir / "model-00002-of-00002.safetensors").string()});
}

}  // namespace
}  // namespace tessera::runtime
