#pragma once
// Elements a block holds in an optional tensor or weight (0 when it has none), for the
// parameter counts that show a rank loaded only its slices.
#include <cstdint>

#include "runtime/backend/weight.hpp"

namespace tessera::runtime {

inline std::int64_t held_elements(const Tensor& t) { return t.defined() ? t.numel() : 0; }
inline std::int64_t held_elements(const Weight& w) { return held_elements(w.data); }

}  // namespace tessera::runtime
