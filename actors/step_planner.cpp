#include "actors/step_planner.hpp"

#include <algorithm>

#include "runtime/core/error.hpp"

namespace tessera::actors {

StepPlanner::StepPlanner(PlannerConfig config)
    : config_(std::move(config)), allocator_(config_.num_blocks) {}

void StepPlanner::submit(RequestState state) {
  const auto id = state.id;
  if (states_.count(id) != 0) {
    throw Error(ErrorCategory::internal, "sequence " + std::to_string(id) + " is already queued");
  }
  state.running = false;
  state.computed = 0;
  states_.emplace(id, std::move(state));
  waiting_.push_back(id);
}

void StepPlanner::release(RequestState& seq) {
  allocator_.release(seq.block_table);
  seq.block_table.clear();
  seq.blocks_sent = 0;  // the next table the shards see replaces whatever they hold
  seq.computed = 0;
}

void StepPlanner::set_shard_group(std::int64_t group) {
  if (group == shard_group_) return;
  shard_group_ = group;
  for (auto& [id, seq] : states_) seq.blocks_sent = 0;
}

bool StepPlanner::remove(std::uint64_t id) {
  auto it = states_.find(id);
  if (it == states_.end()) return false;
  release(it->second);
  std::erase(running_, id);
  std::erase(waiting_, id);
  if (it->second.started) released_.push_back(id);
  states_.erase(it);
  return true;
}

std::vector<std::uint64_t> StepPlanner::ids() const {
  std::vector<std::uint64_t> out;
  out.reserve(states_.size());
  for (const auto& [id, state] : states_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

void StepPlanner::preempt(RequestState& seq) {
  // Its sampling state on the driver stays (started is kept) so seeds and penalties continue
  // after the recompute; only the cache is given up.
  release(seq);
  seq.running = false;
  std::erase(running_, seq.id);
  waiting_.push_front(seq.id);
  ++preemptions_;
}

bool StepPlanner::grow(RequestState& seq, std::int64_t tokens, bool may_preempt) {
  const std::int64_t needed =
      runtime::blocks_for_tokens(tokens, config_.block_size) - std::ssize(seq.block_table);
  if (needed <= 0) return true;
  while (allocator_.free_blocks() < needed) {
    if (!may_preempt) return false;
    // The youngest running sequence that is not in this step yet and younger than `seq`.
    RequestState* victim = nullptr;
    for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
      RequestState& candidate = states_.at(*it);
      if (candidate.id == seq.id || in_this_step(candidate)) continue;
      if (candidate.admitted_at > seq.admitted_at) victim = &candidate;
      break;
    }
    if (victim == nullptr) return false;
    preempt(*victim);
  }
  auto blocks = allocator_.allocate(needed);
  seq.block_table.insert(seq.block_table.end(), blocks.begin(), blocks.end());
  return true;
}

void StepPlanner::add_step(StepPlan& plan, RequestState& seq, std::int64_t count) {
  SequenceStep& step = plan.sequences.emplace_back();
  step.seq_id = seq.id;
  step.first_position = static_cast<std::int32_t>(seq.computed);
  step.tokens.resize(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    step.tokens[static_cast<std::size_t>(i)] = seq.token_at(seq.computed + i);
  }
  // Only the blocks the shards do not hold yet (all of them after a release or a new group).
  step.block_offset = static_cast<std::int32_t>(seq.blocks_sent);
  step.block_table.assign(seq.block_table.begin() + seq.blocks_sent, seq.block_table.end());
  seq.blocks_sent = std::ssize(seq.block_table);
  seq.planned_in = next_step_;
  step.needs_token = seq.computed + count == seq.total_tokens();
  step.starts = !seq.started;
  step.params = seq.params;
  if (step.starts) step.prompt = seq.prompt;
  seq.started = true;
  seq.computed += count;
  seq.awaiting_token = step.needs_token;
}

StepPlan StepPlanner::plan() {
  StepPlan plan;
  plan.step = next_step_++;
  plan.released = std::move(released_);
  released_.clear();
  std::int64_t budget = config_.max_batch_tokens;
  plan.sequences.reserve(
      std::min(running_.size() + waiting_.size(), static_cast<std::size_t>(config_.max_running)));

  // Decode tokens first: a running sequence whose cache holds everything but its last token.
  // (Over a copy: preemption edits running_.)
  scratch_.assign(running_.begin(), running_.end());
  for (const auto id : scratch_) {
    if (budget == 0) break;
    auto it = states_.find(id);
    if (it == states_.end() || !it->second.running) continue;  // preempted meanwhile
    RequestState& seq = it->second;
    if (seq.total_tokens() - seq.computed != 1) continue;
    if (!grow(seq, seq.computed + 1, true)) {
      preempt(seq);  // it is the youngest left: it waits for blocks to come back
      continue;
    }
    add_step(plan, seq, 1);
    --budget;
  }

  // Then prefill chunks of running sequences that are part-way through their prompt.
  scratch_.assign(running_.begin(), running_.end());
  for (const auto id : scratch_) {
    if (budget == 0) break;
    auto it = states_.find(id);
    if (it == states_.end() || !it->second.running) continue;  // preempted meanwhile
    RequestState& seq = it->second;
    if (in_this_step(seq)) continue;
    std::int64_t count = std::min(seq.total_tokens() - seq.computed, budget);
    if (count <= 0) continue;
    if (!grow(seq, seq.computed + count, true)) {
      // Take what the free blocks allow; the rest comes in a later step.
      const std::int64_t fits =
          (std::ssize(seq.block_table) + allocator_.free_blocks()) * config_.block_size -
          seq.computed;
      count = std::min(count, fits);
      if (count <= 0 || !grow(seq, seq.computed + count, false)) continue;
    }
    add_step(plan, seq, count);
    budget -= count;
  }

  // Then admit waiting sequences while the budget, max_running and the free blocks allow.
  while (budget > 0 && !waiting_.empty() &&
         std::ssize(running_) < config_.max_running) {
    RequestState& seq = states_.at(waiting_.front());
    const std::int64_t count = std::min(seq.total_tokens() - seq.computed, budget);
    if (!grow(seq, seq.computed + count, false)) break;
    waiting_.pop_front();
    seq.running = true;
    seq.admitted_at = ++admissions_;
    running_.push_back(seq.id);
    add_step(plan, seq, count);
    budget -= count;
  }
  return plan;
}

bool StepPlanner::is_eos(std::int32_t token) const {
  return std::find(config_.eos_token_ids.begin(), config_.eos_token_ids.end(), token) !=
         config_.eos_token_ids.end();
}

StepPlanner::Outcome StepPlanner::on_result(const StepResult& result) {
  Outcome outcome;
  outcome.accepted.reserve(result.tokens.size());
  for (const auto& token : result.tokens) {
    auto it = states_.find(token.seq_id);
    if (it == states_.end() || !it->second.awaiting_token) continue;  // removed meanwhile
    RequestState& seq = it->second;
    seq.awaiting_token = false;
    seq.generated.push_back(token.id);
    outcome.accepted.push_back(token);
    const char* reason = nullptr;
    const bool stop_token = std::find(seq.stop_token_ids.begin(), seq.stop_token_ids.end(),
                                      token.id) != seq.stop_token_ids.end();
    if (stop_token || (!seq.ignore_eos && is_eos(token.id))) {
      reason = "stop";
    } else if (std::ssize(seq.generated) >= seq.max_tokens) {
      reason = "length";
    }
    if (reason != nullptr) {
      outcome.finished.push_back({seq.id, reason, {}});
      remove(seq.id);
    }
  }
  return outcome;
}

std::vector<std::uint64_t> StepPlanner::fail(const StepPlan& plan) {
  std::vector<std::uint64_t> failed;
  for (const auto& step : plan.sequences) {
    if (remove(step.seq_id)) failed.push_back(step.seq_id);
  }
  return failed;
}

}  // namespace tessera::actors
