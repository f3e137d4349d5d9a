#include "kernels/cpu/embedding.hpp"

#include <cstring>

namespace tessera::kernels::cpu {

void embedding_lookup(const float* table, std::int64_t dim, const std::int32_t* ids,
                      std::int64_t count, float* out) {
  for (std::int64_t i = 0; i < count; ++i) {
    std::memcpy(out + i * dim, table + static_cast<std::int64_t>(ids[i]) * dim,
                static_cast<std::size_t>(dim) * sizeof(float));
  }
}

}  // namespace tessera::kernels::cpu
