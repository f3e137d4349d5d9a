#include "net/cluster/cluster_config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "net/cluster/bind_address.hpp"
#include "net/cluster/tls_files.hpp"
#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

// A value and where it came from ("--mn-worker-id" or "TESSERA_MN_WORKER_ID"), for messages.
struct Sourced {
  std::string text;
  std::string source;
};

Error refuse(const std::string& what) { return Error(ErrorCategory::invalid_argument, what); }

// One setting: its flag, and its variable's name without the TESSERA_/MISTRALRS_ prefix
// (`mistralrs` false when only the TESSERA_ spelling exists).
struct Setting {
  const std::string& flag_value;
  std::string flag;
  std::string variable;
  bool mistralrs = true;
};

std::optional<Sourced> lookup(const Setting& s, const Environment& env) {
  if (!s.flag_value.empty()) return Sourced{s.flag_value, s.flag};
  const std::string ours = "TESSERA_" + s.variable;
  const auto tessera = env(ours);
  std::optional<std::string> theirs;
  const std::string theirs_name = "MISTRALRS_" + s.variable;
  if (s.mistralrs) theirs = env(theirs_name);
  if (tessera && theirs && *tessera != *theirs) {
    throw refuse(ours + "='" + *tessera + "' and " + theirs_name + "='" + *theirs +
                 "' disagree; set one of them");
  }
  if (tessera) return Sourced{*tessera, ours};
  if (theirs) return Sourced{*theirs, theirs_name};
  return std::nullopt;
}

int parse_int(const Sourced& v, int min, int max) {
  int value = 0;
  const char* end = v.text.data() + v.text.size();
  const auto [ptr, ec] = std::from_chars(v.text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < min || value > max) {
    throw refuse(v.source + " must be a whole number from " + std::to_string(min) + " to " +
                 std::to_string(max) + " (got '" + v.text + "')");
  }
  return value;
}

std::uint16_t parse_port(const Sourced& v) {
  return static_cast<std::uint16_t>(parse_int(v, 1, 65535));
}

bool parse_bool(const Sourced& v) {
  for (const char* yes : {"1", "true", "yes", "on"}) {
    if (v.text == yes) return true;
  }
  for (const char* no : {"0", "false", "no", "off", ""}) {
    if (v.text == no) return false;
  }
  throw refuse(v.source + " must be 1/true/yes/on or 0/false/no/off (got '" + v.text + "')");
}

// HOST:PORT, or [IPv6]:PORT.
void parse_address(const Sourced& v, ClusterConfig& config) {
  const auto bad = [&](const std::string& why) {
    return refuse(v.source + " must be HOST:PORT, e.g. 10.0.0.1:9000 (got '" + v.text + "': " +
                  why + ")");
  };
  const auto colon = v.text.rfind(':');
  if (colon == std::string::npos) throw bad("no port");
  std::string host = v.text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) throw bad("no host");
  if (host.find_first_of(" \t/[]") != std::string::npos) throw bad("a malformed host");
  config.head_host = host;
  config.head_server_port = parse_port({v.text.substr(colon + 1), v.source + "'s port"});
}

std::chrono::milliseconds parse_seconds(const Sourced& v) {
  double seconds = 0.0;
  const char* end = v.text.data() + v.text.size();
  const auto [ptr, ec] = std::from_chars(v.text.data(), end, seconds);
  if (ec != std::errc{} || ptr != end || !std::isfinite(seconds) || seconds <= 0.0 ||
      seconds > 86400.0) {
    throw refuse(v.source + " must be a number of seconds above 0 and at most 86400 (got '" +
                 v.text + "')");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

std::string names(const std::vector<const std::optional<Sourced>*>& values) {
  std::string out;
  for (const auto* v : values) {
    if (*v) out += (out.empty() ? "" : ", ") + (*v)->source;
  }
  return out;
}

void check_head(ClusterConfig& c, int local_ranks, const std::optional<Sourced>& world,
                const std::optional<Sourced>& workers, const std::optional<Sourced>& port) {
  if (!workers) {
    throw refuse("a head needs its worker count: --mn-head-num-workers or "
                 "TESSERA_MN_HEAD_NUM_WORKERS (it has " + port->source + ")");
  }
  c.head_num_workers = parse_int(*workers, 0, 4096);
  if (c.head_num_workers == 0) {
    throw refuse(workers->source + " is 0: a head needs at least one worker (to run on one node, "
                 "set no cluster variables)");
  }
  if (!port) {
    throw refuse("a head needs a port to publish on: --mn-head-port or TESSERA_MN_HEAD_PORT");
  }
  c.head_port = parse_port(*port);
  if (!world) {
    throw refuse("a head needs the cluster's total rank count: --mn-global-world-size or "
                 "TESSERA_MN_GLOBAL_WORLD_SIZE");
  }
  c.global_world_size = parse_int(*world, 1, 1 << 20);
  const int least = local_ranks + c.head_num_workers;
  if (c.global_world_size < least) {
    throw refuse(world->source + " is " + std::to_string(c.global_world_size) +
                 ", smaller than possible: the head's " + std::to_string(local_ranks) +
                 " rank(s) plus at least one for each of " + workers->source + "=" +
                 std::to_string(c.head_num_workers) + " workers make " + std::to_string(least));
  }
}

void check_worker(ClusterConfig& c, const std::optional<Sourced>& world,
                  const std::optional<Sourced>& id, const std::optional<Sourced>& addr) {
  if (!id || !addr) {
    const auto& given = id ? *id : *addr;
    throw refuse("a worker needs both its id (--mn-worker-id or TESSERA_MN_WORKER_ID) and the "
                 "head's address (--mn-worker-server-addr or TESSERA_MN_WORKER_SERVER_ADDR); "
                 "only " + given.source + " is set");
  }
  c.worker_id = parse_int(*id, 0, 4095);
  parse_address(*addr, c);
  if (world) {
    c.global_world_size = parse_int(*world, 2, 1 << 20);
    // The head holds at least one rank and every worker at least one: ids stop at world - 2.
    if (c.worker_id > c.global_world_size - 2) {
      throw refuse(id->source + " is " + std::to_string(c.worker_id) + ", out of range for " +
                   world->source + "=" + std::to_string(c.global_world_size) +
                   " (worker ids run from 0 to " + std::to_string(c.global_world_size - 2) + ")");
    }
  }
}

// All three TLS files or none: with only some, CAF would quietly fall back to anonymous TLS
// (encrypted but unauthenticated), which is worse than an error.
ClusterTls resolve_tls(const std::optional<Sourced>& cert, const std::optional<Sourced>& key,
                       const std::optional<Sourced>& ca) {
  const std::vector<const std::optional<Sourced>*> all{&cert, &key, &ca};
  const std::string given = names(all);
  if (given.empty()) return {};
  const char* flag_names[] = {"--tls-cert (TESSERA_MN_TLS_CERT)", "--tls-key (TESSERA_MN_TLS_KEY)",
                              "--tls-ca (TESSERA_MN_TLS_CA)"};
  std::string missing;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!*all[i] || (*all[i])->text.empty()) {
      missing += (missing.empty() ? "" : ", ") + std::string(flag_names[i]);
    }
  }
  if (!missing.empty()) {
    throw refuse("TLS is half-configured: " + given + " set, but not " + missing +
                 "; mutual TLS needs this node's certificate, its key and the cluster's CA");
  }
  ClusterTls tls{{cert->text, cert->source}, {key->text, key->source}, {ca->text, ca->source}};
  check_tls_files(tls);
  return tls;
}

}  // namespace

std::string_view to_string(ClusterRole role) {
  switch (role) {
    case ClusterRole::head:
      return "head";
    case ClusterRole::worker:
      return "worker";
    case ClusterRole::single:
      break;
  }
  return "single";
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* value = std::getenv(name.c_str())) return std::string(value);
    return std::nullopt;
  };
}

ClusterConfig resolve_cluster_config(const ClusterFlags& f, const Environment& env,
                                     int local_ranks) {
  const auto world = lookup({f.global_world_size, "--mn-global-world-size", "MN_GLOBAL_WORLD_SIZE"}, env);
  const auto workers = lookup({f.head_num_workers, "--mn-head-num-workers", "MN_HEAD_NUM_WORKERS"}, env);
  const auto port = lookup({f.head_port, "--mn-head-port", "MN_HEAD_PORT"}, env);
  const auto id = lookup({f.worker_id, "--mn-worker-id", "MN_WORKER_ID"}, env);
  const auto addr = lookup({f.worker_server_addr, "--mn-worker-server-addr", "MN_WORKER_SERVER_ADDR"}, env);
  const std::string no_nccl_flag = f.no_nccl ? "1" : "";
  const auto no_nccl = lookup({no_nccl_flag, "--no-nccl", "NO_NCCL"}, env);
  const auto secret = lookup({f.cluster_secret, "--cluster-secret", "CLUSTER_SECRET", false}, env);
  const auto timeout = lookup({f.join_timeout, "--mn-join-timeout", "MN_JOIN_TIMEOUT", false}, env);
  const auto recovery =
      lookup({f.recovery_timeout, "--mn-recovery-timeout", "MN_RECOVERY_TIMEOUT", false}, env);
  const auto tls_cert = lookup({f.tls_cert, "--tls-cert", "MN_TLS_CERT", false}, env);
  const auto tls_key = lookup({f.tls_key, "--tls-key", "MN_TLS_KEY", false}, env);
  const auto tls_ca = lookup({f.tls_ca, "--tls-ca", "MN_TLS_CA", false}, env);
  const auto bind = lookup({f.bind_addr, "--mn-bind-addr", "MN_BIND_ADDR", false}, env);

  ClusterConfig c;
  if (no_nccl) c.no_nccl = parse_bool(*no_nccl);
  if (timeout) c.join_timeout = parse_seconds(*timeout);
  if (recovery) c.recovery_timeout = parse_seconds(*recovery);
  const bool head = workers || port;
  const bool worker = id || addr;
  if (head && worker) {
    throw refuse("both head settings (" + names({&workers, &port}) + ") and worker settings (" +
                 names({&id, &addr}) + ") are set; a process is either the head or a worker");
  }
  if (!head && !worker) {
    // A node that meant to be secured or bound somewhere must not start as something else.
    const std::vector<const std::optional<Sourced>*> stray{&world, &tls_cert, &tls_key, &tls_ca, &bind};
    const auto count = std::count_if(stray.begin(), stray.end(), [](const auto* v) { return v->has_value(); });
    if (count > 0) {
      throw refuse(names(stray) + (count == 1 ? " is" : " are") +
                   " set, but neither head settings (--mn-head-num-workers, "
                   "--mn-head-port) nor worker settings (--mn-worker-id, "
                   "--mn-worker-server-addr) are");
    }
    return c;
  }
  if (local_ranks < 1) {
    throw refuse("a cluster node needs at least one local rank (got " +
                 std::to_string(local_ranks) + ")");
  }
  if (head) {
    c.role = ClusterRole::head;
    check_head(c, local_ranks, world, workers, port);
  } else {
    c.role = ClusterRole::worker;
    check_worker(c, world, id, addr);
  }
  if (!secret || secret->text.empty()) {
    throw refuse(std::string("a ") + std::string(to_string(c.role)) +
                 " needs the cluster secret that every node shares: --cluster-secret or "
                 "TESSERA_CLUSTER_SECRET");
  }
  c.secret = secret->text;
  c.tls = resolve_tls(tls_cert, tls_key, tls_ca);
  if (bind) {
    c.bind_address = check_bind_address(bind->text, bind->source);
    c.bind_address_source = bind->source;
  }
  return c;
}

actors::DeviceKind cluster_device(const ClusterConfig& cluster, actors::DeviceKind requested,
                                  const std::string& device_setting) {
  if (!cluster.clustered()) return requested;
  if (requested == actors::DeviceKind::cuda) {
    throw Error(ErrorCategory::unsupported,
                device_setting + " is cuda, but a " + std::string(to_string(cluster.role)) +
                    " runs on the CPU backend with Gloo for now (NCCL across nodes is not "
                    "supported yet); use cpu, or set TESSERA_NO_NCCL=1");
  }
  return actors::DeviceKind::cpu;
}

}  // namespace tessera::net
