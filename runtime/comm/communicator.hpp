#pragma once
// The collectives a forward step needs, over whatever carries them (a single rank, Gloo on CPUs,
// NCCL on GPUs). Every rank of a group calls the same collectives in the same order; that is what
// keeps the ranks in lockstep.
//
// Beyond the collectives of tensor parallelism, a communicator carries point-to-point transfers
// (a pipeline stage's hidden states to the next stage) and splits into subgroups (one per
// tensor-parallel group, expert group or stage of a ParallelLayout, whose *_color functions give
// the colours).
#include <memory>

#include "runtime/backend/tensor.hpp"

namespace tessera::runtime {

class Communicator {
 public:
  // split's colour for a rank that joins no subgroup.
  static constexpr int no_color = -1;

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

  // Point to point: x's bytes to rank `peer`, which calls recv with a tensor of the same dtype
  // and element count. The k-th send from a rank to a peer meets that peer's k-th recv from it.
  // Both return once the transfer is complete on their side; a rank that waits on a peer that
  // never comes fails with Error(io) at the communicator's timeout. A send may wait for its
  // recv, so two ranks that both send to each other first can deadlock until that timeout:
  // order them (a pipeline sends forward only). Error(invalid_argument) names a peer that is
  // this rank or outside the group.
  virtual void send(const Tensor& x, int peer) = 0;
  virtual void recv(Tensor& x, int peer) = 0;

  // Collective over this group: every rank calls it (in the same order as every other
  // collective), and the ranks that pass the same colour (>= 0) form one new group, ranked in
  // the order of their ranks here. Returns this rank's new group, or null for no_color. The new
  // group is independent of this one (its own connections, same timeout) and may outlive it.
  //
  // Why a colour and not a list of ranks: NCCL's split is collective over the parent, so every
  // rank must take part anyway; a colour says in one number which group a rank joins, so ranks
  // cannot disagree about a group's members, and a ParallelLayout's groups (tensor-parallel,
  // expert, stage, pipeline peers) are each one colour function.
  virtual std::unique_ptr<Communicator> split(int color) = 0;
};

// The group of one: every collective is the identity, and there is no peer to send to.
class SingleRankCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Tensor&) override {}
  void gather_columns(const Tensor& local, Tensor& full) override;
  void broadcast(Tensor&, int) override {}
  void barrier() override {}
  void send(const Tensor& x, int peer) override;
  void recv(Tensor& x, int peer) override;
  std::unique_ptr<Communicator> split(int color) override;
};

// The checks every communicator makes before a transfer or a split, so that the messages agree.
// `kind` names the group ("a Gloo group"); each throws Error(invalid_argument).
void check_peer(int peer, int rank, int size, const char* kind);
void check_color(int color, int rank);

}  // namespace tessera::runtime
