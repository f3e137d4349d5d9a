#include "net/cluster/admission.hpp"

#include "net/cluster/node_fingerprint.hpp"

namespace tessera::net {
namespace {

std::string id_list(const std::vector<int>& ids) {
  if (ids.empty()) return "none";
  std::string out;
  for (const int id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

}  // namespace

Admission::Admission(AdmissionRules rules) : rules_(std::move(rules)) {}

std::string Admission::admit(const JoinRequest& r) {
  const auto& rules = rules_;
  const std::string who = "worker " + std::to_string(r.worker_id);
  // The secret first: a node that does not know it learns nothing else about the cluster.
  if (r.secret != rules.secret) return who + " presented the wrong cluster secret";
  if (!(r.fingerprint == rules.fingerprint)) {
    return who + "'s fingerprint differs from the head's: head has " +
           describe(rules.fingerprint) + "; " + who + " has " + describe(r.fingerprint);
  }
  if (r.worker_id < 0 || r.worker_id >= rules.num_workers) {
    return "worker id " + std::to_string(r.worker_id) + " is out of range: the head expects " +
           std::to_string(rules.num_workers) + " worker(s), ids 0 to " +
           std::to_string(rules.num_workers - 1);
  }
  if (joined_.count(r.worker_id) != 0) {
    return "worker id " + std::to_string(r.worker_id) +
           " is a duplicate: a worker with that id has already joined";
  }
  if (r.local_ranks < 1) {
    return who + " reports " + std::to_string(r.local_ranks) + " local ranks (at least 1 needed)";
  }
  if (r.global_world_size != 0 && r.global_world_size != rules.global_world_size) {
    return who + " was given global world size " + std::to_string(r.global_world_size) +
           ", the head " + std::to_string(rules.global_world_size);
  }
  int taken = rules.head_ranks;
  for (const auto& [id, ranks] : joined_) taken += ranks;
  const int with_this = taken + r.local_ranks;
  const int still_awaited = rules.num_workers - static_cast<int>(joined_.size()) - 1;
  const std::string sum = "the head's " + std::to_string(rules.head_ranks) + " rank(s), " +
                          std::to_string(taken - rules.head_ranks) + " of the workers already in, " +
                          std::to_string(r.local_ranks) + " of " + who;
  if (with_this + still_awaited > rules.global_world_size) {
    return "global world size is " + std::to_string(rules.global_world_size) + ", but " + sum +
           (still_awaited > 0 ? " and at least " + std::to_string(still_awaited) +
                                    " for the workers still awaited"
                              : std::string()) +
           " make " + std::to_string(with_this + still_awaited);
  }
  if (still_awaited == 0 && with_this != rules.global_world_size) {
    return "global world size is " + std::to_string(rules.global_world_size) + ", but " + sum +
           " add up to " + std::to_string(with_this);
  }
  joined_.emplace(r.worker_id, r.local_ranks);
  return {};
}

void Admission::withdraw(int worker_id) { joined_.erase(worker_id); }

bool Admission::complete() const {
  return static_cast<int>(joined_.size()) == rules_.num_workers;
}

std::vector<RankRange> Admission::assign() const {
  std::vector<RankRange> ranges;
  int next = rules_.head_ranks;
  for (const auto& [id, ranks] : joined_) {  // std::map: worker-id order
    ranges.push_back({id, next, ranks});
    next += ranks;
  }
  return ranges;
}

std::string Admission::status() const {
  std::vector<int> joined, awaited;
  for (int id = 0; id < rules_.num_workers; ++id) {
    (joined_.count(id) != 0 ? joined : awaited).push_back(id);
  }
  return "workers joined: " + id_list(joined) + "; awaited: " + id_list(awaited);
}

}  // namespace tessera::net
