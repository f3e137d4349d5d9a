#include "net/cluster/teardown_deadline.hpp"
#include "runtime/core/log.hpp"

#include <cstdlib>
#include <thread>

namespace tessera::net {

void exit_if_teardown_outlasts(std::chrono::milliseconds grace, int exit_code,
                               std::string last_words) {
  std::thread([grace, exit_code, last_words = std::move(last_words)] {
    std::this_thread::sleep_for(grace);
    if (!last_words.empty()) logger().info("{}", last_words);
    logger().info("the actor system did not stop within {} ms; exiting", grace.count());
    std::_Exit(exit_code);
  }).detach();
}

}  // namespace tessera::net
