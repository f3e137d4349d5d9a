#pragma once
// Element types of checkpoint tensors and their conversion to f32, the CPU backend's compute type.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tessera::runtime {

enum class DType : std::uint8_t { f32, f16, bf16 };

constexpr std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 2; }
std::string_view to_string(DType t);

inline float bf16_to_f32(std::uint16_t bits) {
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &wide, sizeof out);
  return out;
}

float f16_to_f32(std::uint16_t bits);

// Converts `count` elements of type `type` starting at `src` (any alignment) to f32.
void convert_to_f32(DType type, const std::byte* src, std::size_t count, float* dst);

}  // namespace tessera::runtime
