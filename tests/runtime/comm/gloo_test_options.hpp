#pragma once
// Gloo options for the communicator tests: a deadline short enough that a lost rank fails a test
// quickly, long enough for a loaded CI machine.
#include <chrono>

#include "runtime/comm/gloo_communicator.hpp"

namespace tessera::runtime {

inline GlooOptions test_options(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  GlooOptions options;
  options.timeout = timeout;
  return options;
}

}  // namespace tessera::runtime
