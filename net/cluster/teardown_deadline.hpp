#pragma once
// A node process that has decided to stop must stop. Destroying a CAF actor system can wait on a
// peer that never answers (the middleman waits for its connections; a shard may sit inside a
// collective with a frozen peer), so a stopping node gives the teardown a bounded grace period.
#include <chrono>
#include <string>

namespace tessera::net {

// After `grace`, logs `last_words` (when not empty; the logger adds "tessera: ") and ends the
// process with `exit_code`, unless the process has ended first. Call it when the outcome is
// decided and only the teardown is left; it returns at once.
void exit_if_teardown_outlasts(std::chrono::milliseconds grace, int exit_code,
                               std::string last_words);

}  // namespace tessera::net
