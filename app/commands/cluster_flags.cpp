#include "app/commands/cluster_flags.hpp"

namespace tessera::app {

void add_cluster_flags(CLI::App& command, net::ClusterFlags& flags) {
  const std::string group = "Cluster (each also TESSERA_* / MISTRALRS_* environment variables)";
  command.add_option("--mn-global-world-size", flags.global_world_size,
                     "Ranks of every node together [TESSERA_MN_GLOBAL_WORLD_SIZE]")
      ->group(group);
  command.add_option("--mn-head-num-workers", flags.head_num_workers,
                     "Head: how many workers join it [TESSERA_MN_HEAD_NUM_WORKERS]")
      ->group(group);
  command.add_option("--mn-head-port", flags.head_port,
                     "Head: the port workers connect to [TESSERA_MN_HEAD_PORT]")
      ->group(group);
  command.add_option("--mn-worker-id", flags.worker_id,
                     "Worker: its id, 0 to workers-1 [TESSERA_MN_WORKER_ID]")
      ->group(group);
  command.add_option("--mn-worker-server-addr", flags.worker_server_addr,
                     "Worker: the head's HOST:PORT [TESSERA_MN_WORKER_SERVER_ADDR]")
      ->group(group);
  command.add_flag("--no-nccl", flags.no_nccl,
                   "Collectives through Gloo on the CPU, even with GPUs [TESSERA_NO_NCCL]")
      ->group(group);
  command.add_option("--cluster-secret", flags.cluster_secret,
                     "Shared by every node; workers that lack it are refused [TESSERA_CLUSTER_SECRET]")
      ->group(group);
  command.add_option("--mn-join-timeout", flags.join_timeout,
                     "Seconds the head waits for its workers, and a worker for the head "
                     "(default 120) [TESSERA_MN_JOIN_TIMEOUT]")
      ->group(group);
  command.add_option("--mn-recovery-timeout", flags.recovery_timeout,
                     "Head: seconds a request waits for the cluster to re-form after losing a "
                     "worker, then fails with 503 (default 30) [TESSERA_MN_RECOVERY_TIMEOUT]")
      ->group(group);
  command.add_option("--mn-bind-addr", flags.bind_addr,
                     "This node's address for Gloo's TCP endpoints (default: the one facing the "
                     "head, or on the head the one workers reached) [TESSERA_MN_BIND_ADDR]")
      ->group(group);
  command.add_option("--tls-cert", flags.tls_cert,
                     "PEM certificate of this node, signed by --tls-ca; with --tls-key and "
                     "--tls-ca the nodes talk mutual TLS [TESSERA_MN_TLS_CERT]")
      ->group(group);
  command.add_option("--tls-key", flags.tls_key,
                     "PEM private key of --tls-cert, unencrypted [TESSERA_MN_TLS_KEY]")
      ->group(group);
  command.add_option("--tls-ca", flags.tls_ca,
                     "PEM certificate of the CA that signed every node's [TESSERA_MN_TLS_CA]")
      ->group(group);
}

net::ClusterConfig resolve_cluster_flags(const net::ClusterFlags& flags, int local_ranks) {
  return net::resolve_cluster_config(flags, net::process_environment(), local_ranks);
}

}  // namespace tessera::app
