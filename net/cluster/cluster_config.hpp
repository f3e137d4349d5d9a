#pragma once
// Which role this process plays in a cluster (single node, head, worker) and how it reaches the
// others, from command-line flags or environment variables. Flags win over the environment; the
// environment accepts the TESSERA_* names and, so that existing launch scripts work, the
// MISTRALRS_* spellings of the same variables. Every value is checked here, and a refusal names
// the flag or variable and the value it had.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "actors/engine_config.hpp"

namespace tessera::net {

enum class ClusterRole : std::uint8_t { single, head, worker };

std::string_view to_string(ClusterRole role);

// The flags as typed (empty: not given), so that a flag and a variable are parsed and reported
// alike. add_cluster_flags (app/) fills them.
struct ClusterFlags {
  std::string global_world_size;   // --mn-global-world-size
  std::string head_num_workers;    // --mn-head-num-workers
  std::string head_port;           // --mn-head-port
  std::string worker_id;           // --mn-worker-id
  std::string worker_server_addr;  // --mn-worker-server-addr HOST:PORT
  bool no_nccl = false;            // --no-nccl
  std::string cluster_secret;      // --cluster-secret
  std::string join_timeout;        // --mn-join-timeout, seconds
  std::string recovery_timeout;    // --mn-recovery-timeout, seconds
  std::string tls_cert;            // --tls-cert PEM file: this node's certificate
  std::string tls_key;             // --tls-key PEM file: its private key (unencrypted)
  std::string tls_ca;              // --tls-ca PEM file: the CA that signed every node's certificate
  std::string bind_addr;           // --mn-bind-addr: this node's address for Gloo's TCP endpoints
};

// One of the TLS files, and the flag or variable that named it (for messages).
struct TlsFile {
  std::string path;
  std::string source;
};

// Mutual TLS between the nodes' CAF connections (caf-openssl): all three files or none.
struct ClusterTls {
  TlsFile certificate;
  TlsFile key;
  TlsFile ca;

  bool enabled() const { return !certificate.path.empty(); }
};

struct ClusterConfig {
  ClusterRole role = ClusterRole::single;
  // Every rank of every node. On a worker 0 unless given, in which case the head checks it.
  int global_world_size = 0;
  int head_num_workers = 0;    // head
  std::uint16_t head_port = 0;  // head: where it publishes its rendezvous actor
  int worker_id = -1;           // worker: 0 … head_num_workers-1
  std::string head_host;        // worker: the head's address …
  std::uint16_t head_server_port = 0;  // … and port
  bool no_nccl = false;  // collectives through Gloo on the CPU even where GPUs exist
  std::string secret;    // every worker must present the head's
  // Head: how long it waits for every worker. Worker: how long it keeps trying to reach the head.
  std::chrono::milliseconds join_timeout{120000};
  // CAF middleman heartbeats, set on both sides: a frozen peer is noticed after connection_timeout.
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds connection_timeout{2000};
  // Head: how long a request waits for the cluster to re-form after losing a worker (then 503).
  std::chrono::milliseconds recovery_timeout{30000};
  // Every node link (the rendezvous and everything after it) over mutual TLS when enabled. The
  // Gloo data path between ranks is separate TCP and stays in the clear.
  ClusterTls tls;
  // The local address this node's Gloo endpoints bind to and advertise to its peers. Empty: a
  // worker takes the address it reaches the head from, the head the address workers reached it at
  // (bind_address.hpp).
  std::string bind_address;
  std::string bind_address_source;  // the flag or variable it came from, for messages

  bool clustered() const { return role != ClusterRole::single; }
};

// Looks a variable up: its value, or nothing when it is not set.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

// The role and settings that `flags` and `environment` give a process with `local_ranks` ranks.
// Throws Error(invalid_argument) naming the flags or variables at fault: a malformed number or
// address, head and worker settings both present, a head with no workers or no port, a world size
// smaller than the head's ranks plus one per worker, a worker id out of range, a TESSERA_ and a
// MISTRALRS_ spelling that disagree, a clustered role without a secret, TLS half-configured (some
// of --tls-cert/--tls-key/--tls-ca but not all) or naming a file that is missing, unreadable or
// not what it should be (tls_files.hpp), a bind address that is not one of this host's, and TLS
// or bind settings on a process that is no cluster node.
ClusterConfig resolve_cluster_config(const ClusterFlags& flags, const Environment& environment,
                                     int local_ranks);

// Where a node's shards compute. A cluster runs on the CPU backend with Gloo for now (NCCL across
// nodes is not built yet): `requested` automatic becomes cpu, and cuda is refused
// (Error(unsupported)) naming `device_setting`. A single node keeps `requested`.
actors::DeviceKind cluster_device(const ClusterConfig& cluster, actors::DeviceKind requested,
                                  const std::string& device_setting);

}  // namespace tessera::net
