#pragma once
// A Gloo rendezvous store whose keys live in the head's store actor (store_actor.hpp), so that the
// ranks of every process, the head's included, meet through one store. Each operation is a CAF
// request with a deadline; a store that does not answer in time fails the operation with an
// Error naming the keys, never a hang.
#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <gloo/rendezvous/store.h>

namespace tessera::net {

class RemoteStore final : public gloo::rendezvous::Store {
 public:
  // `system` must outlive the store (the shards that use it stop before their actor system does).
  RemoteStore(caf::actor_system& system, caf::actor store, std::chrono::milliseconds timeout);

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  caf::actor_system& system_;
  caf::actor store_;
  std::chrono::milliseconds timeout_;
};

}  // namespace tessera::net
