#pragma once
// A node's fingerprint: what the head compares before it lets a worker's ranks join its own.
#include <filesystem>
#include <string>

#include "net/cluster/cluster_messages.hpp"

namespace tessera::net {

// This tessera's version, as the head and workers compare it.
std::string tessera_version();

// The fingerprint of serving `model_dir` on `device` ("cpu" or "cuda"). The model hash covers
// config.json's fields as parsed (so formatting does not matter) and every checkpoint tensor's
// name, dtype and shape (so a different model with the same config still differs). Throws
// Error naming the file when the folder cannot be read.
NodeFingerprint make_fingerprint(const std::filesystem::path& model_dir, const std::string& device);

// "tessera 0.1.0, model 3f2a09c1e4b5d678, dtype F32, device cpu"
std::string describe(const NodeFingerprint& fingerprint);

}  // namespace tessera::net
