#pragma once
// Collectives among CPU ranks through Gloo over TCP: threads of one process (rendezvous through an
// in-memory store) or processes on several hosts (through a store that the head serves).
#include <chrono>
#include <memory>
#include <string>

#include "runtime/comm/communicator.hpp"

namespace gloo::rendezvous {
class Store;
}

namespace tessera::runtime {

// A store that also says which local address this process's ranks bind to. A cluster node's
// store implements it (net/cluster/node_store.hpp): the address must be one the other nodes can
// reach, and only the node knows which that is.
class GlooBindAddressSource {
 public:
  virtual ~GlooBindAddressSource() = default;
  // Numeric IPv4 or IPv6; may block (bounded) until the node has learnt it. Throws Error.
  virtual std::string gloo_bind_address() = 0;
};

struct GlooOptions {
  // The address this rank's TCP endpoints bind to, and advertise to its peers through the store
  // (Gloo publishes the address it bound, so this must be reachable from every other rank).
  // Empty: the store's, when it is a GlooBindAddressSource, otherwise 127.0.0.1.
  std::string interface_address;
  std::chrono::milliseconds timeout{30000};      // every collective, transfer and the rendezvous
  std::string prefix = "tessera";                // namespaces one group's keys in the store
};

// A store for ranks that are threads of this process.
std::shared_ptr<gloo::rendezvous::Store> make_in_process_store();

class GlooCommunicator final : public Communicator {
 public:
  // Joins the group as `rank` of `size`; every rank must call this concurrently (it blocks until
  // all have joined or the timeout passes, then throws Error naming the missing ranks' count).
  GlooCommunicator(std::shared_ptr<gloo::rendezvous::Store> store, int rank, int size,
                   const GlooOptions& options = {});
  ~GlooCommunicator() override;

  int rank() const override;
  int size() const override;
  void all_reduce_sum(Tensor& x) override;
  void gather_columns(const Tensor& local, Tensor& full) override;
  void broadcast(Tensor& x, int root) override;
  void barrier() override;
  // Any host tensor (its bytes travel, whatever the dtype).
  void send(const Tensor& x, int peer) override;
  void recv(Tensor& x, int peer) override;
  // A new Gloo context per group: its ranks meet in this group's store under a prefix made of
  // this group's, the split's sequence number and the colour, so no two groups share a key.
  std::unique_ptr<Communicator> split(int color) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tessera::runtime
