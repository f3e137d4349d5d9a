#include "runtime/backend/weight.hpp"

namespace tessera::runtime {

std::string_view to_string(WeightFormat format) {
  switch (format) {
    case WeightFormat::f32: return "F32";
    case WeightFormat::f16: return "F16";
    case WeightFormat::bf16: return "BF16";
    case WeightFormat::fp8_e4m3: return "F8_E4M3";
  }
  return "?";
}

WeightFormat weight_format_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return WeightFormat::f32;
    case DType::f16: return WeightFormat::f16;
    case DType::bf16: return WeightFormat::bf16;
    case DType::f8_e4m3: return WeightFormat::fp8_e4m3;
  }
  return WeightFormat::f32;
}

}  // namespace tessera::runtime
