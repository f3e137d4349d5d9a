#pragma once
// The scheduler's decisions, free of actors so they can be tested alone: which sequences run in
// the next step and with how many tokens, who gets KV blocks, who is preempted, and what a step's
// tokens do to each sequence. One step is in flight at a time: plan(), then on_result().
//
// Policy (continuous batching, as vLLM does it):
// - decode tokens of running sequences first, in admission order, one budget token each;
// - then prefill chunks: partially prefilled running sequences, then waiting ones (preempted
//   ones at the front), while the per-step token budget and `max_running` allow;
// - blocks are allocated as a sequence grows. A running sequence short of blocks preempts the
//   most recently admitted sequence not yet in this step (itself when it is the most recent):
//   its blocks are freed and it is requeued to recompute prompt + generated tokens. A waiting
//   sequence is admitted only while free blocks cover its chunk (admission never preempts).
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <string>
#include <vector>

#include "actors/message_data.hpp"
#include "actors/request_state.hpp"
#include "runtime/kv/kv_cache.hpp"

namespace tessera::actors {

struct PlannerConfig {
  std::int64_t num_blocks = 0;
  std::int64_t block_size = 16;
  std::int64_t max_batch_tokens = 256;
  std::int64_t max_running = 64;
  std::vector<std::int64_t> eos_token_ids;
};

class StepPlanner {
 public:
  explicit StepPlanner(PlannerConfig config);

  // Queues a sequence (the request was validated where it entered). Throws Error(internal) for
  // a duplicate id.
  void submit(RequestState state);
  // Removes a sequence wherever it is and returns its blocks; false when it is unknown.
  bool remove(std::uint64_t id);

  // The next step, or a plan with no sequences when nothing can run. Commits the plan: the
  // planned tokens count as computed from here on.
  StepPlan plan();

  struct Outcome {
    std::vector<GeneratedToken> accepted;  // tokens of sequences still known, in plan order
    std::vector<FinishedSequence> finished;  // sequences that hit EOS or max_tokens
  };
  // Applies the driver's tokens: appends each to its sequence (tokens of removed sequences are
  // discarded) and finishes those that reached EOS or their token limit.
  Outcome on_result(const StepResult& result);
  // Every sequence of `plan` that is still known, removed (a failed step).
  std::vector<std::uint64_t> fail(const StepPlan& plan);
  // The shards' group: when it changes (it re-formed, and its ranks may hold no block tables),
  // every sequence's next step carries its whole table.
  void set_shard_group(std::int64_t group);

  bool has_work() const { return !running_.empty() || !waiting_.empty() || !released_.empty(); }
  bool contains(std::uint64_t id) const { return states_.count(id) != 0; }
  std::vector<std::uint64_t> ids() const;
  std::int64_t free_blocks() const { return allocator_.free_blocks(); }
  std::int64_t total_blocks() const { return allocator_.total_blocks(); }
  std::int64_t running() const { return static_cast<std::int64_t>(running_.size()); }
  std::int64_t waiting() const { return static_cast<std::int64_t>(waiting_.size()); }
  std::int64_t preemptions() const { return preemptions_; }
  std::int64_t capacity_tokens() const { return config_.num_blocks * config_.block_size; }
  const PlannerConfig& config() const { return config_; }

 private:
  // Makes the sequence's block table cover `tokens` tokens, preempting younger sequences not in
  // the step being planned when needed (and allowed). False when it cannot.
  bool grow(RequestState& seq, std::int64_t tokens, bool may_preempt);
  bool in_this_step(const RequestState& seq) const { return seq.planned_in == next_step_; }
  void preempt(RequestState& seq);
  void release(RequestState& seq);
  void add_step(StepPlan& plan, RequestState& seq, std::int64_t count);
  bool is_eos(std::int32_t token) const;

  PlannerConfig config_;
  runtime::BlockAllocator allocator_;
  std::unordered_map<std::uint64_t, RequestState> states_;
  std::vector<std::uint64_t> running_;  // admission order
  std::deque<std::uint64_t> waiting_;
  std::vector<std::uint64_t> released_;
  std::vector<std::uint64_t> scratch_;  // plan()'s copy of running_, kept for its capacity
  std::int64_t shard_group_ = 0;
  std::uint64_t next_step_ = 0;
  std::uint64_t admissions_ = 0;
  std::int64_t preemptions_ = 0;
};

}  // namespace tessera::actors
