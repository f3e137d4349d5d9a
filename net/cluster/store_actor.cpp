#include "net/cluster/store_actor.hpp"

#include <caf/all.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/cluster/cluster_messages.hpp"

namespace tessera::net {
namespace {

struct StoreState {
  std::unordered_map<std::string, std::string> values;
  // Readers of keys not written yet, and whether each wants the value (get) or only `true` (wait).
  struct Waiter {
    caf::response_promise promise;
    bool wants_value = false;
  };
  std::unordered_map<std::string, std::vector<Waiter>> waiting;
  static inline const char* name = "tessera.gloo_store";
};

using StoreActor = caf::stateful_actor<StoreState>;

caf::behavior store(StoreActor* self) {
  auto await = [self](const std::string& key, bool wants_value) -> caf::response_promise {
    auto promise = self->make_response_promise();
    const auto it = self->state.values.find(key);
    if (it == self->state.values.end()) {
      self->state.waiting[key].push_back({promise, wants_value});
    } else if (wants_value) {
      promise.deliver(it->second);
    } else {
      promise.deliver(true);
    }
    return promise;
  };
  return {
      [=](store_set_atom, const std::string& key, std::string& value) {
        auto& state = self->state;
        const auto waiters = state.waiting.find(key);
        if (waiters != state.waiting.end()) {
          for (auto& waiter : waiters->second) {
            if (waiter.wants_value) {
              waiter.promise.deliver(value);
            } else {
              waiter.promise.deliver(true);
            }
          }
          state.waiting.erase(waiters);
        }
        state.values.insert_or_assign(key, std::move(value));
        return true;
      },
      [=](store_get_atom, const std::string& key) { return await(key, true); },
      [=](store_wait_atom, const std::string& key) { return await(key, false); },
  };
}

}  // namespace

caf::actor spawn_store_actor(caf::actor_system& system) { return system.spawn(store); }

}  // namespace tessera::net
