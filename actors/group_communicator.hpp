#pragma once
// What a shard's model talks to: a communicator that forwards every collective to whichever
// group the shard belongs to now. The Transformer keeps a reference to its communicator for its
// whole life, so when a cluster re-forms after losing a worker the shard swaps the group behind
// this handle (a fresh Gloo/NCCL communicator under a new store prefix) and keeps its weights.
#include <memory>

#include "runtime/comm/communicator.hpp"
#include "runtime/core/error.hpp"

namespace tessera::actors {

class GroupCommunicator final : public runtime::Communicator {
 public:
  explicit GroupCommunicator(const std::unique_ptr<runtime::Communicator>& group) : group_(group) {}

  int rank() const override { return current().rank(); }
  int size() const override { return current().size(); }
  void all_reduce_sum(runtime::Tensor& x) override { current().all_reduce_sum(x); }
  void gather_columns(const runtime::Tensor& local, runtime::Tensor& full) override {
    current().gather_columns(local, full);
  }
  void broadcast(runtime::Tensor& x, int root) override { current().broadcast(x, root); }
  void barrier() override { current().barrier(); }
  void send(const runtime::Tensor& x, int peer) override { current().send(x, peer); }
  void recv(runtime::Tensor& x, int peer) override { current().recv(x, peer); }
  // The subgroup belongs to the current group: a regroup leaves it stale, so whoever splits
  // must split again after one.
  std::unique_ptr<runtime::Communicator> split(int color) override {
    return current().split(color);
  }

 private:
  runtime::Communicator& current() const {
    if (!group_) {
      throw Error(ErrorCategory::internal,
                  "this rank has left its group and has not joined a new one yet");
    }
    return *group_;
  }

  const std::unique_ptr<runtime::Communicator>& group_;
};

}  // namespace tessera::actors
