#include "net/cluster/node_store.hpp"

#include <functional>
#include <mutex>

#include "net/cluster/bind_address.hpp"
#include "net/cluster/remote_store.hpp"
#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/log.hpp"

namespace tessera::net {
namespace {

std::string head_address_key(int worker_id) {
  return "tessera_cluster/head_address/" + std::to_string(worker_id);
}

class NodeStore final : public gloo::rendezvous::Store, public runtime::GlooBindAddressSource {
 public:
  NodeStore(std::shared_ptr<RemoteStore> store, std::function<std::string()> find_address)
      : store_(std::move(store)), find_address_(std::move(find_address)) {}

  void set(const std::string& key, const std::vector<char>& data) override { store_->set(key, data); }
  std::vector<char> get(const std::string& key) override { return store_->get(key); }
  void wait(const std::vector<std::string>& keys) override { store_->wait(keys); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    store_->wait(keys, timeout);
  }

  // Every local rank asks; the first one finds it, and the others get the same answer.
  std::string gloo_bind_address() override {
    std::lock_guard lock(mutex_);
    if (address_.empty()) address_ = find_address_();
    return address_;
  }

 private:
  std::shared_ptr<RemoteStore> store_;
  std::function<std::string()> find_address_;
  std::mutex mutex_;
  std::string address_;
};

std::string head_address(RemoteStore& store, const ClusterConfig& cluster) {
  if (!cluster.bind_address.empty()) {
    logger().info("the head's Gloo endpoints on {} ({})", cluster.bind_address,
                  cluster.bind_address_source);
    return cluster.bind_address;
  }
  const std::string key = head_address_key(0);
  store.wait({key});
  const auto value = store.get(key);
  const std::string reached(value.begin(), value.end());
  std::string address;
  try {
    address = check_bind_address(reached, "the address worker 0 reached the head at");
  } catch (const Error& e) {
    // Behind NAT or a proxy the workers' view of the head is not one of its own addresses.
    throw Error(ErrorCategory::io, std::string(e.what()) +
                                       "; set --mn-bind-addr (TESSERA_MN_BIND_ADDR) on the head "
                                       "to the address its workers can reach");
  }
  logger().info("the head's Gloo endpoints on {} (the address worker 0 reached it at)", address);
  return address;
}

}  // namespace

std::shared_ptr<gloo::rendezvous::Store> make_head_store(caf::actor_system& system,
                                                         caf::actor store,
                                                         std::chrono::milliseconds timeout,
                                                         const ClusterConfig& cluster) {
  auto remote = std::make_shared<RemoteStore>(system, std::move(store), timeout);
  return std::make_shared<NodeStore>(remote, [remote, cluster] { return head_address(*remote, cluster); });
}

std::shared_ptr<gloo::rendezvous::Store> make_worker_store(caf::actor_system& system,
                                                           caf::actor store,
                                                           std::chrono::milliseconds timeout,
                                                           const ClusterConfig& cluster) {
  auto remote = std::make_shared<RemoteStore>(system, std::move(store), timeout);
  const Route route = route_to(cluster.head_host, cluster.head_server_port);
  remote->set(head_address_key(cluster.worker_id), {route.peer.begin(), route.peer.end()});
  std::string address = cluster.bind_address;
  std::string why = cluster.bind_address_source;
  if (address.empty()) {
    address = route.local;
    why = "the address it reaches the head at " + route.peer + " from";
  }
  logger().info("worker {}'s Gloo endpoints on {} ({})", cluster.worker_id, address, why);
  return std::make_shared<NodeStore>(remote, [address] { return address; });
}

}  // namespace tessera::net
