#include "runtime/parallel/parallel_layout.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

Error invalid(const std::string& what) { return Error(ErrorCategory::invalid_argument, what); }

std::string shape_text(int tp, int pp, int ep) {
  return "tp " + std::to_string(tp) + ", pp " + std::to_string(pp) + ", ep " + std::to_string(ep);
}

}  // namespace

ParallelLayout::ParallelLayout(int tp, int pp, int ep) : tp_(tp), pp_(pp), ep_(ep) {
  const std::string shape = "the parallel layout (" + shape_text(tp, pp, ep) + ")";
  if (tp < 1 || pp < 1 || ep < 1) throw invalid(shape + " needs every axis to be at least 1");
  const int stage = stage_size();
  if (stage % tp != 0 || stage % ep != 0) {
    throw invalid(shape + " is not a layout: tp " + std::to_string(tp) + " and ep " +
                  std::to_string(ep) + " must both divide a stage's max(tp, ep) = " +
                  std::to_string(stage) + " ranks");
  }
  if (pp > std::numeric_limits<int>::max() / stage) {
    throw invalid(shape + " has more ranks than an int can count");
  }
}

RankCoordinates ParallelLayout::coordinates(int global_rank) const {
  if (global_rank < 0 || global_rank >= world_size()) {
    throw invalid("global rank " + std::to_string(global_rank) + " is outside the layout " +
                  describe() + " (ranks 0-" + std::to_string(world_size() - 1) + ")");
  }
  RankCoordinates c;
  c.global_rank = global_rank;
  c.pp_stage = global_rank / stage_size();
  c.stage_index = global_rank % stage_size();
  c.tp_rank = c.stage_index % tp_;
  c.tp_group = c.stage_index / tp_;
  c.ep_rank = c.stage_index % ep_;
  c.ep_group = c.stage_index / ep_;
  return c;
}

int ParallelLayout::global_rank(int pp_stage, int stage_index) const {
  if (pp_stage < 0 || pp_stage >= pp_ || stage_index < 0 || stage_index >= stage_size()) {
    throw invalid("stage " + std::to_string(pp_stage) + ", place " + std::to_string(stage_index) +
                  " is outside the layout " + describe() + " (" + std::to_string(pp_) +
                  " stages of " + std::to_string(stage_size()) + " ranks)");
  }
  return pp_stage * stage_size() + stage_index;
}

bool ParallelLayout::is_driver(int global_rank) const {
  return coordinates(global_rank).global_rank == driver_rank();
}

bool ParallelLayout::is_first_stage(int global_rank) const {
  return coordinates(global_rank).pp_stage == 0;
}

bool ParallelLayout::is_last_stage(int global_rank) const {
  return coordinates(global_rank).pp_stage == pp_ - 1;
}

int ParallelLayout::next_stage_peer(int global_rank) const {
  const auto c = coordinates(global_rank);
  if (c.pp_stage == pp_ - 1) {
    throw invalid("global rank " + std::to_string(global_rank) + " is in the last of " +
                  std::to_string(pp_) + " pipeline stages: no stage follows it");
  }
  return global_rank + stage_size();
}

int ParallelLayout::previous_stage_peer(int global_rank) const {
  const auto c = coordinates(global_rank);
  if (c.pp_stage == 0) {
    throw invalid("global rank " + std::to_string(global_rank) +
                  " is in the first pipeline stage: no stage precedes it");
  }
  return global_rank - stage_size();
}

LayerRange ParallelLayout::layers_of_stage(int pp_stage, std::int64_t num_layers,
                                           std::span<const std::int64_t> layers_per_stage) const {
  if (pp_stage < 0 || pp_stage >= pp_) {
    throw invalid("pipeline stage " + std::to_string(pp_stage) + " is outside the layout " +
                  describe() + " (stages 0-" + std::to_string(pp_ - 1) + ")");
  }
  // One stage may be empty (a config read only for its shapes); several must each hold a layer.
  if (num_layers < 0 || (pp_ > 1 && num_layers < pp_)) {
    throw invalid(std::to_string(num_layers) + " layers cannot fill " + std::to_string(pp_) +
                  " pipeline stages (each needs at least one)");
  }
  if (layers_per_stage.empty()) {
    // Even split; the remainder goes one layer each to the first stages.
    const std::int64_t base = num_layers / pp_;
    const std::int64_t extra = num_layers % pp_;
    const std::int64_t begin = pp_stage * base + std::min<std::int64_t>(pp_stage, extra);
    return {begin, begin + base + (pp_stage < extra ? 1 : 0)};
  }
  if (std::ssize(layers_per_stage) != pp_) {
    throw invalid(std::to_string(layers_per_stage.size()) + " layer counts were given for " +
                  std::to_string(pp_) + " pipeline stages");
  }
  for (std::size_t s = 0; s < layers_per_stage.size(); ++s) {
    if (layers_per_stage[s] < 1) {
      throw invalid("pipeline stage " + std::to_string(s) + " is given " +
                    std::to_string(layers_per_stage[s]) + " layers (at least 1 is needed)");
    }
  }
  const std::int64_t total =
      std::accumulate(layers_per_stage.begin(), layers_per_stage.end(), std::int64_t{0});
  if (total != num_layers) {
    throw invalid("the pipeline stages' layer counts sum to " + std::to_string(total) +
                  ", but the model has " + std::to_string(num_layers) + " layers");
  }
  const auto before = layers_per_stage.first(static_cast<std::size_t>(pp_stage));
  const std::int64_t begin = std::accumulate(before.begin(), before.end(), std::int64_t{0});
  return {begin, begin + layers_per_stage[static_cast<std::size_t>(pp_stage)]};
}

int ParallelLayout::tp_group_color(int global_rank) const {
  const auto c = coordinates(global_rank);
  return c.pp_stage * (stage_size() / tp_) + c.tp_group;
}

int ParallelLayout::ep_group_color(int global_rank) const {
  const auto c = coordinates(global_rank);
  return c.pp_stage * (stage_size() / ep_) + c.ep_group;
}

int ParallelLayout::stage_color(int global_rank) const { return coordinates(global_rank).pp_stage; }

int ParallelLayout::pipeline_color(int global_rank) const {
  return coordinates(global_rank).stage_index;
}

std::vector<int> ParallelLayout::tp_group_ranks(int global_rank) const {
  const auto c = coordinates(global_rank);
  const int first = global_rank - c.tp_rank;
  std::vector<int> ranks(static_cast<std::size_t>(tp_));
  std::iota(ranks.begin(), ranks.end(), first);
  return ranks;
}

int ParallelLayout::local_device(int global_rank, int first_local_rank) const {
  coordinates(global_rank);  // validates
  if (first_local_rank < 0 || first_local_rank > global_rank) {
    throw invalid("global rank " + std::to_string(global_rank) +
                  " is not on a node whose first rank is " + std::to_string(first_local_rank));
  }
  return global_rank - first_local_rank;
}

std::string ParallelLayout::describe() const {
  return shape_text(tp_, pp_, ep_) + " (" + std::to_string(world_size()) + " ranks)";
}

}  // namespace tessera::runtime
