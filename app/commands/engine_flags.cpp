#include "app/commands/engine_flags.hpp"

#include "runtime/core/error.hpp"

namespace tessera::app {

void add_engine_flags(CLI::App& command, EngineFlags& flags) {
  command.add_option("--model", flags.model_dir, "Hugging Face model folder")->required();
  command.add_option("--tp", flags.tensor_parallel, "Tensor-parallel ranks in this process")
      ->capture_default_str();
}

actors::EngineConfig make_engine_config(const EngineFlags& flags) {
  if (flags.tensor_parallel < 1) {
    throw Error(ErrorCategory::invalid_argument,
                "--tp must be at least 1 (got " + std::to_string(flags.tensor_parallel) + ")");
  }
  actors::EngineConfig config;
  config.model_dir = flags.model_dir;
  config.tensor_parallel = flags.tensor_parallel;
  return config;
}

std::string layout_text(const EngineFlags& flags) {
  return flags.tensor_parallel == 1
             ? "1 CPU rank"
             : std::to_string(flags.tensor_parallel) + " tensor-parallel CPU ranks (Gloo all-reduce)";
}

}  // namespace tessera::app
