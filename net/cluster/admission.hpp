#pragma once
// The head's rules for letting workers in, as plain logic (the rendezvous actor applies them, the
// tests drive them directly). A worker is admitted when it knows the secret, its fingerprint
// equals the head's, its id is in range and not taken, and its ranks fit the global world size;
// once every worker is in, each gets its global rank range, in worker-id order after the head's.
#include <map>
#include <string>
#include <vector>

#include "net/cluster/cluster_messages.hpp"

namespace tessera::net {

struct AdmissionRules {
  std::string secret;
  NodeFingerprint fingerprint;  // the head's own
  int num_workers = 1;
  int global_world_size = 2;
  int head_ranks = 1;  // global ranks 0 … head_ranks-1
};

struct RankRange {
  int worker_id = 0;
  int first_rank = 0;
  int ranks = 0;
};

class Admission {
 public:
  explicit Admission(AdmissionRules rules);

  // Empty when the worker is admitted; otherwise why it is refused, naming the values.
  std::string admit(const JoinRequest& request);
  // An admitted worker that went away before the cluster formed: its id is free again.
  void withdraw(int worker_id);
  bool complete() const;
  // Every worker's global ranks, in worker-id order (complete() only).
  std::vector<RankRange> assign() const;
  // Who has joined and who is awaited: "workers joined: 0, 2; awaited: 1".
  std::string status() const;
  const AdmissionRules& rules() const { return rules_; }

 private:
  AdmissionRules rules_;
  std::map<int, int> joined_;  // worker id -> local ranks
};

}  // namespace tessera::net
