#pragma once
// The one logger of the actors and the cluster: "tessera: <text>" lines on stderr, one per call,
// written whole and flushed at once (operators and tests read them as they appear).
//   tessera::logger().info("worker {} joined as {}", id, ranks);
// The line carries no level or time stamp: it reads exactly as tessera's lines always have, and
// a supervisor (systemd, a container runtime) adds the time itself.
#include <spdlog/logger.h>

namespace tessera {

// Thread-safe, and usable until the process ends (threads still running at exit may log).
spdlog::logger& logger();

}  // namespace tessera
