#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// Rotary position embedding in the "rotate half" layout of HF Llama: element j of a head pairs
// with element j + head_dim/2. x holds `tokens` rows `stride` floats apart, each row `heads`
// heads of `head_dim` values. inv_freq has head_dim/2 entries.
void rope_rotate_half(float* x, std::int64_t tokens, std::int64_t stride, std::int64_t heads,
                      std::int64_t head_dim, const std::int32_t* positions,
                      const float* inv_freq);

}  // namespace tessera::kernels::cpu
