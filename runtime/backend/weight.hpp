#pragma once
// A weight as a backend holds it: its elements in one format, and the scales that multiply them.
// A backend lists the checkpoint formats it can load (MemoryOps::loadable_formats); the weight
// loader refuses any other by the tensor's name, and linear() dispatches on the held format.
// Dense formats carry no scales; FP8 E4M3 will come with per-tensor, per-channel or block scales.
#include <cstdint>
#include <string_view>
#include <vector>

#include "runtime/backend/tensor.hpp"
#include "runtime/core/dtype.hpp"

namespace tessera::runtime {

enum class WeightFormat : std::uint8_t { f32, f16, bf16, fp8_e4m3 };

std::string_view to_string(WeightFormat format);
// The format a checkpoint tensor of `dtype` is stored in.
WeightFormat weight_format_of(DType dtype);

enum class ScaleLayout : std::uint8_t {
  none,         // the elements are the values
  per_tensor,   // one scale
  per_channel,  // one scale per output row
  block,        // one scale per block_rows × block_cols block
};

struct WeightScales {
  ScaleLayout layout = ScaleLayout::none;
  Tensor values;  // f32
  std::int64_t block_rows = 0, block_cols = 0;
};

struct Weight {
  Tensor data;
  WeightFormat format = WeightFormat::f32;
  WeightScales scales;

  bool defined() const { return data.defined(); }
  const std::vector<std::int64_t>& shape() const { return data.shape(); }
  std::int64_t numel() const { return data.numel(); }
  std::int64_t rows() const { return data.rows(); }
  std::int64_t cols() const { return data.cols(); }
};

}  // namespace tessera::runtime
