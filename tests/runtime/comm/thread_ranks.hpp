#pragma once
// Threads as the ranks of a group: the way tests (and CPU simulation of a cluster) run a
// collective program without processes.
#include <exception>
#include <thread>
#include <vector>

namespace tessera::testing {

// Runs body(rank) for rank 0 … size-1 on their own threads, waits for all of them and rethrows
// the first failure in rank order. A rank that fails mid-collective makes its peers fail by
// their communicator's timeout, so this never waits forever.
template <class Body>
void run_ranks(int size, Body body) {
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(size));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < size; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        body(rank);
      } catch (...) {
        failures[static_cast<std::size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

}  // namespace tessera::testing
