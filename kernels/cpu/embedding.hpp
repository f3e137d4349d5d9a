#pragma once
#include <cstdint>

namespace tessera::kernels::cpu {

// out[i, :] = table[ids[i], :]. Ids are validated by the caller.
void embedding_lookup(const float* table, std::int64_t dim, const std::int32_t* ids,
                      std::int64_t count, float* out);

}  // namespace tessera::kernels::cpu
