#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// Index of the largest value; the first one on ties, as torch.argmax.
std::int64_t argmax(const float* values, std::int64_t count);

}  // namespace tessera::kernels::cpu
