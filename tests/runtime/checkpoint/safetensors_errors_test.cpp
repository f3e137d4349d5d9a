// One test per way a single safetensors file can be broken: each must fail with the right
// category and a message naming the file and the tensor or field at fault.
#include <gtest/gtest.h>

#include "runtime/checkpoint/checkpoint.hpp"
#include "tests/support/safetensors_writer.hpp"

namespace tessera::runtime {
namespace {

using test::RawTensor;
using C = ErrorCategory;

// Writes model.safetensors with `bytes` and returns the error opening it.
struct BrokenFile {
  test::TempDir dir;
  std::string file;
  explicit BrokenFile(const std::string& bytes) : file((dir / "model.safetensors").string()) {
    test::write_file(dir / "model.safetensors", bytes);
  }
  Error open() const {
    return test::expect_error([&] { (void)Checkpoint::open(dir.path()); });
  }
};

std::string header_with(const std::string& entry, std::size_t data_bytes) {
  return test::raw_safetensors("{\"w\":" + entry + "}", std::string(data_bytes, '\0'));
}

TEST(SafetensorsErrors, EmptyFile) {
  BrokenFile f("");
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "8-byte"});
}

TEST(SafetensorsErrors, TruncatedFile) {
  BrokenFile f(std::string("\x10\x00\x00", 3));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "3 bytes"});
}

TEST(SafetensorsErrors, HeaderLengthPastEnd) {
  BrokenFile f(test::le_u64(1000) + "{}");
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "header length 1000", "past the end"});
}

TEST(SafetensorsErrors, AbsurdHeaderLength) {
  BrokenFile f(test::le_u64(std::uint64_t{1} << 62) + "{}");
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "header length"});
}

TEST(SafetensorsErrors, MalformedHeaderJson) {
  BrokenFile f(test::raw_safetensors("{\"w\": {\"dtype\": "));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "not valid JSON"});
}

TEST(SafetensorsErrors, HeaderNotAnObject) {
  BrokenFile f(test::raw_safetensors("[1, 2, 3]"));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "object", "array"});
}

TEST(SafetensorsErrors, DeeplyNestedHeader) {
  BrokenFile f(test::raw_safetensors(std::string(100000, '[') + std::string(100000, ']')));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "nests deeper"});
}

TEST(SafetensorsErrors, EntryNotAnObject) {
  BrokenFile f(header_with("42", 0));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "object"});
}

TEST(SafetensorsErrors, MissingDtype) {
  BrokenFile f(header_with(R"({"shape": [1], "data_offsets": [0, 4]})", 4));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "dtype"});
}

TEST(SafetensorsErrors, ShapeNotAList) {
  BrokenFile f(header_with(R"({"dtype": "F32", "shape": 1, "data_offsets": [0, 4]})", 4));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "shape"});
}

TEST(SafetensorsErrors, OffsetsNotAPair) {
  BrokenFile f(header_with(R"({"dtype": "F32", "shape": [1], "data_offsets": [0]})", 4));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "data_offsets"});
}

TEST(SafetensorsErrors, UnknownDtype) {
  BrokenFile f(header_with(R"({"dtype": "Q4_K", "shape": [1], "data_offsets": [0, 4]})", 4));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "Q4_K"});
}

TEST(SafetensorsErrors, UnsupportedDtype) {
  BrokenFile f(header_with(R"({"dtype": "I64", "shape": [1], "data_offsets": [0, 8]})", 8));
  test::expect_error_mentions(f.open(), C::unsupported, {f.file, "'w'", "I64"});
}

TEST(SafetensorsErrors, NegativeDimension) {
  BrokenFile f(header_with(R"({"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]})", 8));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "[-1,2]"});
}

TEST(SafetensorsErrors, HugeShapeOverflows) {
  BrokenFile f(header_with(
      R"({"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 8]})", 8));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "too many elements"});
}

TEST(SafetensorsErrors, ShapeSizeMismatch) {
  BrokenFile f(header_with(R"({"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]})", 8));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "[2,3]", "span 8"});
}

TEST(SafetensorsErrors, OffsetsOutOfRange) {
  BrokenFile f(header_with(R"({"dtype": "F32", "shape": [4], "data_offsets": [0, 16]})", 8));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "past the data buffer of 8"});
}

TEST(SafetensorsErrors, BeginAfterEnd) {
  BrokenFile f(header_with(R"({"dtype": "F32", "shape": [1], "data_offsets": [8, 4]})", 8));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "begin is past end"});
}

TEST(SafetensorsErrors, NegativeOffset) {
  BrokenFile f(header_with(R"({"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]})", 8));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'w'", "data_offsets"});
}

TEST(SafetensorsErrors, OverlappingOffsets) {
  BrokenFile f(test::raw_safetensors(
      R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
      R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
      std::string(12, '\0')));
  test::expect_error_mentions(f.open(), C::checkpoint, {f.file, "'a'", "'b'", "overlap"});
}

TEST(SafetensorsErrors, MissingTensor) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors",
                   test::safetensors({{"present", "F32", {1}, test::f32_bytes({1.0f})}}));
  const auto ckpt = Checkpoint::open(dir.path());
  EXPECT_FALSE(ckpt.contains("absent"));
  test::expect_error_mentions(test::expect_error([&] { (void)ckpt.tensor("absent"); }), C::checkpoint,
                              {"'absent'", dir.path().string()});
  test::expect_error_mentions(test::expect_error([&] { (void)ckpt.read_f32("absent"); }), C::checkpoint,
                              {"'absent'"});
}

TEST(SafetensorsErrors, MissingFile) {
  test::TempDir dir;
  test::expect_error_mentions(test::expect_error([&] { (void)Checkpoint::open(dir.path()); }), C::io,
                              {dir.path().string(), "model.safetensors.index.json", "'model.safetensors'"});
}

TEST(SafetensorsErrors, CheckpointPathIsADirectory) {
  test::TempDir dir;
  std::filesystem::create_directory(dir / "model.safetensors");
  test::expect_error_mentions(test::expect_error([&] { (void)Checkpoint::open(dir.path()); }), C::io,
                              {(dir / "model.safetensors").string()});
}

}  // namespace
}  // namespace tessera::runtime
