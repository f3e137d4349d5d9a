#pragma once
// The header of one safetensors file: an 8-byte little-endian length, then that many bytes of JSON
// naming every tensor's dtype, shape and byte range in the data buffer that follows. Everything a
// later read relies on (ranges inside the file, sizes matching shapes, no overlaps) is checked
// here, once, so reads can trust the table.
#include <vector>

#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/checkpoint/mapped_file.hpp"

namespace tessera::runtime {

// A header longer than this is not a real checkpoint; refusing it early keeps a corrupt length
// from making us parse gigabytes of tensor data as JSON.
inline constexpr std::size_t kMaxSafetensorsHeaderBytes = 100u * 1024u * 1024u;

// Returns the file's tensors with `data` pointing into `file`'s mapping. Throws Error(checkpoint)
// naming the file and the tensor or field at fault, or Error(unsupported) for a valid safetensors
// dtype tessera does not load (I64, F64, U8, ...).
std::vector<TensorInfo> parse_safetensors_header(const MappedFile& file);

}  // namespace tessera::runtime
