#include "net/cluster/remote_store.hpp"

#include <caf/all.hpp>

#include "net/cluster/cluster_messages.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

using Clock = std::chrono::steady_clock;

Error store_error(const std::string& what, const std::string& key, const std::string& why) {
  return Error(ErrorCategory::io, "the cluster's Gloo store (on the head) " + what + " '" + key +
                                      "': " + why);
}

}  // namespace

RemoteStore::RemoteStore(caf::actor_system& system, caf::actor store,
                         std::chrono::milliseconds timeout)
    : system_(system), store_(std::move(store)), timeout_(timeout) {}

void RemoteStore::set(const std::string& key, const std::vector<char>& data) {
  caf::scoped_actor self{system_};
  std::string failure;
  self->request(store_, timeout_, store_set_atom::value, key, std::string(data.begin(), data.end()))
      .receive([](bool) {}, [&](caf::error& e) { failure = system_.render(e); });
  if (!failure.empty()) throw store_error("did not take", key, failure);
}

std::vector<char> RemoteStore::get(const std::string& key) {
  caf::scoped_actor self{system_};
  std::vector<char> data;
  std::string failure;
  self->request(store_, timeout_, store_get_atom::value, key)
      .receive([&](const std::string& value) { data.assign(value.begin(), value.end()); },
               [&](caf::error& e) { failure = system_.render(e); });
  if (!failure.empty()) throw store_error("gave no value for", key, failure);
  return data;
}

void RemoteStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void RemoteStore::wait(const std::vector<std::string>& keys,
                       const std::chrono::milliseconds& timeout) {
  const auto deadline = Clock::now() + timeout;
  caf::scoped_actor self{system_};
  for (const auto& key : keys) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left < std::chrono::milliseconds(1)) left = std::chrono::milliseconds(1);
    std::string failure;
    self->request(store_, left, store_wait_atom::value, key)
        .receive([](bool) {}, [&](caf::error& e) { failure = system_.render(e); });
    if (!failure.empty()) {
      throw store_error("never saw", key, failure + " (waited " + std::to_string(timeout.count()) +
                                              " ms)");
    }
  }
}

}  // namespace tessera::net
