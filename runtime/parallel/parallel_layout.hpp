#pragma once
// How a deployment spreads one model over its ranks, as one value: ParallelLayout {tp, pp, ep}.
// Every question about ranks (which layers a stage holds, which rank drives sampling, which
// device a rank computes on, which ranks form a collective group) is answered here and nowhere
// else, so that "rank 0" never stands in for "the driver" and a new axis changes one file.
//
// The shape (DESIGN.md, "Parallelism: one layout, three axes"): pipeline stages hold contiguous
// layer ranges; each stage has max(tp, ep) ranks, and both tp and ep must divide that number.
// Attention and dense layers split over groups of tp consecutive ranks (groups beyond a stage's
// first see the same tokens and replicate that work); experts split over the stage's ep
// consecutive ranks. World size = pp × max(tp, ep). Global ranks are numbered stage after stage,
// so a stage's ranks are consecutive: tensor parallelism inside a node, stages across nodes.
//
//   tp 2, pp 2, ep 1:  stage 0 = ranks 0-1 (tp 0, 1), stage 1 = ranks 2-3; driver rank 2.
//   tp 1, pp 1, ep 2:  one stage of 2 ranks; two tp groups of 1; one ep group of 2.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tessera::runtime {

// Layers [begin, end) of the model.
struct LayerRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t count() const { return end - begin; }
  bool operator==(const LayerRange&) const = default;
};

// Where one rank sits in a layout.
struct RankCoordinates {
  int global_rank = 0;
  int pp_stage = 0;
  int stage_index = 0;  // position inside its stage, 0 … stage_size-1
  int tp_rank = 0;      // inside its tensor-parallel group
  int tp_group = 0;     // which of its stage's tensor-parallel groups
  int ep_rank = 0;      // inside its stage's expert-parallel group
  int ep_group = 0;     // which of its stage's expert-parallel groups
  bool operator==(const RankCoordinates&) const = default;
};

class ParallelLayout {
 public:
  ParallelLayout() = default;  // one rank
  // Throws Error(invalid_argument) naming the numbers when an axis is below 1, when tp or ep
  // does not divide max(tp, ep), or when the world would not fit an int.
  ParallelLayout(int tp, int pp, int ep);
  // Tensor parallelism alone: one stage of `tp` ranks.
  static ParallelLayout tensor_parallel(int tp) { return ParallelLayout(tp, 1, 1); }

  int tp() const { return tp_; }
  int pp() const { return pp_; }
  int ep() const { return ep_; }
  int stage_size() const { return tp_ > ep_ ? tp_ : ep_; }
  int world_size() const { return pp_ * stage_size(); }
  // Only tensor parallelism: every rank is in one group that computes the whole model.
  bool tensor_parallel_only() const { return pp_ == 1 && ep_ == 1; }

  // Each throws Error(invalid_argument) naming the rank and the layout for a rank outside it.
  RankCoordinates coordinates(int global_rank) const;
  int global_rank(int pp_stage, int stage_index) const;

  // The rank that samples: the first tensor-parallel rank of the last stage (the last stage
  // applies the final norm and lm_head, and its first tp rank gathers the logits).
  int driver_rank() const { return (pp_ - 1) * stage_size(); }
  bool is_driver(int global_rank) const;
  // The first stage embeds the tokens; the last produces logits.
  bool is_first_stage(int global_rank) const;
  bool is_last_stage(int global_rank) const;
  // The rank at the same place in the neighbouring stage: where this rank's hidden states go
  // (next) or come from (previous). Throws Error(invalid_argument) past the last or first stage.
  int next_stage_peer(int global_rank) const;
  int previous_stage_peer(int global_rank) const;

  // The layers stage `pp_stage` holds. Without `layers_per_stage`, an even split in which the
  // first num_layers % pp stages hold one layer more (the last stage also runs the final norm,
  // lm_head and sampling). With it, one count per stage, each at least 1, summing to num_layers.
  // Throws Error(invalid_argument) naming the numbers otherwise, or with fewer layers than stages.
  LayerRange layers_of_stage(int pp_stage, std::int64_t num_layers,
                             std::span<const std::int64_t> layers_per_stage = {}) const;

  // Collective groups as colours over the whole world (Communicator::split): ranks of equal
  // colour form one group, ordered by global rank.
  int tp_group_color(int global_rank) const;  // this rank's tensor-parallel group
  int ep_group_color(int global_rank) const;  // this rank's expert-parallel group
  int stage_color(int global_rank) const;     // every rank of this rank's stage
  int pipeline_color(int global_rank) const;  // this rank and its peers in every other stage
  // The global ranks of this rank's tensor-parallel group, ascending.
  std::vector<int> tp_group_ranks(int global_rank) const;

  // The device index a rank computes on inside its node (process), whose ranks are
  // first_local_rank, first_local_rank + 1, …: a node holding ranks 4-7 uses devices 0-3.
  // Throws Error(invalid_argument) when the rank is outside the layout or before that node.
  int local_device(int global_rank, int first_local_rank) const;

  // "tp 4, pp 2, ep 1 (8 ranks)", for messages.
  std::string describe() const;
  bool operator==(const ParallelLayout&) const = default;

 private:
  int tp_ = 1;
  int pp_ = 1;
  int ep_ = 1;
};

}  // namespace tessera::runtime
