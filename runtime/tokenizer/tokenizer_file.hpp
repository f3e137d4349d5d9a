#pragma once
// Reading tokenizer.json and tokenizer_config.json from a model folder: whole, so only regular
// files of bounded size (a FIFO under the name would block forever, a multi-gigabyte file would
// be parsed into a tree many times larger).
#include <cstdint>
#include <filesystem>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {

// The file's bytes; Error(io) when it cannot be read, Error(`category`) naming the file and the
// limit when it is not a regular file or is larger than `max_bytes`.
std::string read_tokenizer_file(const std::filesystem::path& file, std::uintmax_t max_bytes,
                                ErrorCategory category);

}  // namespace tessera::runtime
