#pragma once
// Element types of checkpoint tensors and their conversion to f32, the CPU backend's compute type.
// f8_e4m3 is OCP FP8 E4M3 ("fn": no infinities, 0x7f/0xff are NaN, largest finite 448), as
// safetensors stores it under "F8_E4M3".
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tessera::runtime {

enum class DType : std::uint8_t { f32, f16, bf16, f8_e4m3 };

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
      return 4;
    case DType::f16:
    case DType::bf16:
      return 2;
    case DType::f8_e4m3:
      return 1;
  }
  return 0;
}
std::string_view to_string(DType t);

inline float bf16_to_f32(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &wide, sizeof out);
  return out;
}

float f16_to_f32(std::uint16_t bits);
float f8_e4m3_to_f32(std::uint8_t bits);

// Converts `count` elements of type `type` starting at `src` (any alignment) to f32.
void convert_to_f32(DType type, const std::byte* src, std::size_t count, float* dst);

}  // namespace tessera::runtime
