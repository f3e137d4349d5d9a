#include "runtime/model/weight_loader.hpp"

#include <algorithm>

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

void WeightLoader::check_tensor(const std::string& name,
                                const std::vector<std::int64_t>& expected) const {
  const TensorInfo& info = checkpoint_.tensor(name);
  if (info.shape != expected) {
    throw Error(ErrorCategory::checkpoint,
                "tensor " + name + " in " + info.file.string() + " has shape " +
                    shape_text(info.shape) + " but config.json implies " + shape_text(expected));
  }
  const WeightFormat format = weight_format_of(info.dtype);
  const auto loadable = backend_.loadable_formats();
  if (std::find(loadable.begin(), loadable.end(), format) == loadable.end()) {
    std::string formats;
    for (const WeightFormat f : loadable) formats += (formats.empty() ? "" : ", ") + std::string(to_string(f));
    throw Error(ErrorCategory::unsupported,
                "tensor " + name + " in " + info.file.string() + " is " +
                    std::string(to_string(format)) + ", which the " + std::string(backend_.name()) +
                    " backend does not load (it loads " + formats + ")");
  }
}

Weight WeightLoader::whole(const std::string& name, std::vector<std::int64_t> shape) {
  check_tensor(name, shape);
  const WeightPiece piece{name, TensorSlice{}, shape[0]};
  return backend_.load_weight(checkpoint_, std::span(&piece, 1), std::move(shape));
}

Weight WeightLoader::stacked_rows(const std::vector<RowBlock>& blocks) {
  std::vector<WeightPiece> pieces;
  std::int64_t total_rows = 0;
  for (const RowBlock& block : blocks) {
    check_tensor(block.name, block.full_shape);
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

Weight WeightLoader::columns(const std::string& name, std::vector<std::int64_t> full_shape,
                             std::int64_t begin, std::int64_t count) {
  return stacked_columns({name}, full_shape, begin, count);
}

Weight WeightLoader::stacked_columns(const std::vector<std::string>& names,
                                     const std::vector<std::int64_t>& full_shape,
                                     std::int64_t begin, std::int64_t count) {
  TensorSlice slice;
  slice.col_begin = begin;
  slice.col_end = begin + count;
  std::vector<WeightPiece> pieces;
  for (const std::string& name : names) {
    check_tensor(name, full_shape);
    pieces.push_back({name, slice, full_shape[0]});
  }
  const auto rows = full_shape[0] * static_cast<std::int64_t>(names.size());
  return backend_.load_weight(checkpoint_, pieces, {rows, count});
}

}  // namespace tessera::runtime
