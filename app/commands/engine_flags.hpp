#pragma once
// The flags every command that runs an Engine shares (`generate`, `serve`): which model, how it
// is laid out over ranks and devices. One place, so the commands spell and check them alike.
#include <CLI/CLI.hpp>

#include <string>

#include "actors/engine_config.hpp"

namespace tessera::app {

struct EngineFlags {
  std::string model_dir;
  int tensor_parallel = 1;
};

void add_engine_flags(CLI::App& command, EngineFlags& flags);

// Throws Error(invalid_argument) naming the flag when a value is out of range.
actors::EngineConfig make_engine_config(const EngineFlags& flags);

// "1 CPU rank", "2 tensor-parallel CPU ranks (Gloo all-reduce)": for start-up and stats lines.
std::string layout_text(const EngineFlags& flags);

}  // namespace tessera::app
