#pragma once
// The individual decoder stages (HF names): ByteLevel, Replace, ByteFallback, Fuse, Strip, and
// the space-joining default used when tokenizer.json has no decoder.
#include <memory>
#include <string>

#include "runtime/tokenizer/decoder.hpp"

namespace tessera::runtime::decode_stages {

std::unique_ptr<DecodeStageFactory> byte_level();
std::unique_ptr<DecodeStageFactory> replace(std::string pattern, std::string content);
std::unique_ptr<DecodeStageFactory> byte_fallback();
std::unique_ptr<DecodeStageFactory> fuse();
std::unique_ptr<DecodeStageFactory> strip(std::string content, std::size_t start,
                                          std::size_t stop);
std::unique_ptr<DecodeStageFactory> join_with_spaces();

}  // namespace tessera::runtime::decode_stages
