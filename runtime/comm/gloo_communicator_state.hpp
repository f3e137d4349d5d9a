#pragma once
// GlooCommunicator's insides, shared by its source files (joining and collectives in
// gloo_communicator.cpp, point-to-point and split in gloo_point_to_point.cpp). Not a public
// header: nothing outside runtime/comm includes it.
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {

std::string describe_gloo_rank(int rank, int size);

struct GlooCommunicator::State {
  int rank = 0;
  int size = 1;
  std::shared_ptr<gloo::rendezvous::Store> store;  // kept for the groups that split makes
  GlooOptions options;  // as joined: interface_address resolved, prefix this group's
  std::shared_ptr<gloo::rendezvous::Context> context;
  // Every rank issues collectives in the same order, so a per-communicator counter gives each
  // collective the same tag everywhere and keeps consecutive ones from matching each other.
  std::uint32_t next_tag = 0;
  std::uint32_t splits = 0;  // split is a collective too: the count names each one's store keys
  // Point-to-point transfers count per peer instead: only the two ranks involved know of one.
  std::vector<std::uint32_t> sent;      // to each peer
  std::vector<std::uint32_t> received;  // from each peer
  std::vector<float> gathered;  // rank 0's scratch for gather_columns

  std::uint32_t tag() { return next_tag++; }

  // Runs one Gloo call, turning its exceptions (timeouts, closed peers) into tessera errors.
  template <class Call>
  void collective(const std::string& what, Call&& call) {
    try {
      std::forward<Call>(call)();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(ErrorCategory::io, "Gloo " + what + " failed on " +
                                         describe_gloo_rank(rank, size) + ": " + e.what());
    }
  }
};

}  // namespace tessera::runtime
