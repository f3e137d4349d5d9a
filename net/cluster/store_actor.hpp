#pragma once
// The head's Gloo rendezvous store, as an actor every rank of every node can reach: a map from
// key to bytes where reading a key that is not there yet waits until some rank writes it.
//
// Protocol: (store_set_atom, key, value) -> true; (store_get_atom, key) -> value, once the key
// exists; (store_wait_atom, key) -> true, once the key exists. Callers bound their waits with
// request timeouts; an answer nobody waits for any more is dropped.
#include <caf/fwd.hpp>

namespace tessera::net {

caf::actor spawn_store_actor(caf::actor_system& system);

}  // namespace tessera::net
