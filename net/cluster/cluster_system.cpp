#include "net/cluster/cluster_system.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <algorithm>
#include <thread>

#include "actors/messages.hpp"
#include "net/cluster/cluster_messages.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/log.hpp"

namespace tessera::net {

void register_cluster_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<NodeFingerprint>("tessera.NodeFingerprint")
      .add_message_type<JoinRequest>("tessera.JoinRequest")
      .add_message_type<JoinAccepted>("tessera.JoinAccepted");
}

void configure_cluster_system(caf::actor_system_config& cfg, const ClusterConfig& cluster) {
  actors::configure_actor_system(cfg);
  register_cluster_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{cluster.heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{cluster.connection_timeout});
  if (cluster.tls.enabled()) {
    // With a certificate, key and CA set, caf-openssl requires and verifies the peer's certificate
    // on both sides (mutual TLS); resolve_cluster_config has refused anything less.
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = cluster.tls.certificate.path;
    cfg.openssl_key = cluster.tls.key.path;
    cfg.openssl_cafile = cluster.tls.ca.path;
  }
}

caf::expected<std::uint16_t> publish_rendezvous(caf::actor_system& system, const caf::actor& actor,
                                                const ClusterConfig& cluster) {
  if (cluster.tls.enabled()) return caf::openssl::publish(actor, cluster.head_port, nullptr, true);
  return system.middleman().publish(actor, cluster.head_port, nullptr, true);
}

caf::actor connect_to_head(caf::actor_system& system, const ClusterConfig& cluster) {
  using Clock = std::chrono::steady_clock;
  const auto address = cluster.head_host + ":" + std::to_string(cluster.head_server_port);
  const auto deadline = Clock::now() + cluster.join_timeout;
  auto backoff = std::chrono::milliseconds(100);
  std::string last_failure;
  for (int attempt = 1;; ++attempt) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    // A frozen head would leave a connect hanging: each attempt has its own deadline.
    const auto attempt_timeout = std::clamp(left, std::chrono::milliseconds(1),
                                            std::chrono::milliseconds(5000));
    caf::actor head;
    caf::scoped_actor self{system};
    // Both managers answer connect_atom alike; the OpenSSL one runs the TLS handshake first.
    const auto& manager = cluster.tls.enabled() ? system.openssl_manager().actor_handle()
                                                : system.middleman().actor_handle();
    self->request(manager, attempt_timeout, caf::connect_atom::value,
                  cluster.head_host, cluster.head_server_port)
        .receive(
            [&](const caf::node_id&, caf::strong_actor_ptr& published, const std::set<std::string>&) {
              head = caf::actor_cast<caf::actor>(std::move(published));
              if (!head) last_failure = "nothing is published on that port";
            },
            [&](caf::error& error) { last_failure = system.render(error); });
    if (head) return head;
    const auto now = Clock::now();
    if (now >= deadline) break;
    // Not an error yet: the head may still be starting. Say so now and then, not on every try.
    if (attempt == 1 || attempt % 10 == 0) {
      logger().info("waiting for the head at {} ({})", address, last_failure);
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff, deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
  throw Error(ErrorCategory::io, "could not reach the head at " + address + " within " +
                                     std::to_string(cluster.join_timeout.count()) +
                                     " ms: " + last_failure);
}

}  // namespace tessera::net
