#pragma once
// The collectives a tensor-parallel forward step needs, over whatever carries them (a single
// rank, Gloo on CPUs, NCCL on GPUs). Every rank of a group calls the same collectives in the same
// order; that is what keeps the ranks in lockstep.
#include "runtime/backend/tensor.hpp"

namespace tessera::runtime {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Every rank's x becomes the elementwise sum over ranks.
  virtual void all_reduce_sum(Tensor& x) = 0;
  // Column blocks to rank 0: `local` is [rows, cols]; on rank 0, `full` [rows, cols * size()]
  // receives rank r's block in columns r*cols … (r+1)*cols. Other ranks' `full` is untouched.
  virtual void gather_columns(const Tensor& local, Tensor& full) = 0;
  // Rank `root`'s x is copied into every rank's x (same shape everywhere).
  virtual void broadcast(Tensor& x, int root) = 0;
  virtual void barrier() = 0;
};

// The group of one: every collective is the identity.
class SingleRankCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Tensor&) override {}
  void gather_columns(const Tensor& local, Tensor& full) override;
  void broadcast(Tensor&, int) override {}
  void barrier() override {}
};

}  // namespace tessera::runtime
