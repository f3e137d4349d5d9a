#include "runtime/model/weight_loader.hpp"

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace

void WeightLoader::check_shape(const std::string& name,
                               const std::vector<std::int64_t>& expected) const {
  const TensorInfo& info = checkpoint_.tensor(name);
  if (info.shape != expected) {
    throw Error(ErrorCategory::checkpoint,
                "tensor " + name + " in " + info.file.string() + " has shape " +
                    shape_text(info.shape) + " but config.json implies " + shape_text(expected));
  }
  // An FP8 weight is meaningful only with its scales, which no architecture reads yet: refuse it
  // rather than compute with unscaled values.
  if (info.dtype == DType::f8_e4m3) {
    throw Error(ErrorCategory::unsupported,
                "tensor " + name + " in " + info.file.string() +
                    " is F8_E4M3; FP8 weights and their scales are not supported yet");
  }
}

Tensor WeightLoader::whole(const std::string& name, std::vector<std::int64_t> shape) {
  check_shape(name, shape);
  const WeightPiece piece{name, TensorSlice{}, shape[0]};
  return backend_.load_weight(checkpoint_, std::span(&piece, 1), std::move(shape));
}

Tensor WeightLoader::stacked_rows(const std::vector<RowBlock>& blocks) {
  std::vector<WeightPiece> pieces;
  std::int64_t total_rows = 0;
  for (const RowBlock& block : blocks) {
    check_shape(block.name, block.full_shape);
    TensorSlice slice;
    slice.row_begin = block.begin;
    slice.row_end = block.begin + block.count;
    pieces.push_back({block.name, slice, block.count});
    total_rows += block.count;
  }
  std::vector<std::int64_t> shape = blocks.front().full_shape;
  shape[0] = total_rows;
  return backend_.load_weight(checkpoint_, pieces, std::move(shape));
}

Tensor WeightLoader::columns(const std::string& name, std::vector<std::int64_t> full_shape,
                             std::int64_t begin, std::int64_t count) {
  check_shape(name, full_shape);
  TensorSlice slice;
  slice.col_begin = begin;
  slice.col_end = begin + count;
  const WeightPiece piece{name, slice, full_shape[0]};
  full_shape[1] = count;
  return backend_.load_weight(checkpoint_, std::span(&piece, 1), std::move(full_shape));
}

}  // namespace tessera::runtime
