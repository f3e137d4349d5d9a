// config.json and generation_config.json, through the text entry points and through the folder
// loader that the server uses (generation_config.json absent: the ids fall back to config.json).
//
// Input: config.json, optionally followed by kSeparator and generation_config.json. Without the
// separator, the same text is also parsed as a generation config, since the two share fields
// (bos/eos/pad_token_id) and a config.json is read as one in the fallback.
#include <cstdint>
#include <string>

#include "runtime/core/error.hpp"
#include "runtime/model/model_config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

constexpr std::string_view kSeparator = "\n#generation_config.json\n";

template <class Parse>
void refused_or_parsed(Parse parse) {
  try {
    parse();
  } catch (const tessera::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tessera::runtime::GenerationConfig;
  using tessera::runtime::ModelConfig;
  const auto parts = tessera::fuzz::split_once(tessera::fuzz::as_text(data, size), kSeparator);
  const std::string config(parts.first);
  const std::string generation(parts.found ? parts.second : parts.first);

  refused_or_parsed([&] { (void)ModelConfig::parse(config, "config.json"); });
  refused_or_parsed([&] { (void)GenerationConfig::parse(generation, "generation_config.json"); });

  const auto& dir = tessera::fuzz::fresh_scratch_dir();
  tessera::fuzz::write_scratch_file("config.json", config);
  if (parts.found) tessera::fuzz::write_scratch_file("generation_config.json", generation);
  refused_or_parsed([&] { (void)ModelConfig::load(dir); });
  refused_or_parsed([&] { (void)GenerationConfig::load(dir); });
  return 0;
}
