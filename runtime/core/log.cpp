#include "runtime/core/log.hpp"

#include <memory>
#include <spdlog/sinks/stdout_sinks.h>

namespace tessera {

spdlog::logger& logger() {
  // Never destroyed: a detached thread (a teardown deadline) may still log during exit. Not in
  // spdlog's registry either, so an embedding program's own "tessera" logger cannot clash.
  static spdlog::logger* const instance = [] {
    auto* made = new spdlog::logger("tessera", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    made->set_pattern("tessera: %v");
    made->set_level(spdlog::level::info);
    made->flush_on(spdlog::level::info);
    return made;
  }();
  return *instance;
}

}  // namespace tessera
