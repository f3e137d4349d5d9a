#include "net/cluster/teardown_deadline.hpp"

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace tessera::net {

void exit_if_teardown_outlasts(std::chrono::milliseconds grace, int exit_code,
                               std::string last_words) {
  std::thread([grace, exit_code, last_words = std::move(last_words)] {
    std::this_thread::sleep_for(grace);
    if (!last_words.empty()) std::fprintf(stderr, "%s\n", last_words.c_str());
    std::fprintf(stderr, "tessera: the actor system did not stop within %lld ms; exiting\n",
                 static_cast<long long>(grace.count()));
    std::fflush(stderr);
    std::_Exit(exit_code);
  }).detach();
}

}  // namespace tessera::net
