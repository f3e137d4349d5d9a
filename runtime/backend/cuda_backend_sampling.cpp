// CudaBackend::sample_rows: the step's logits stay on the device. Per call the host uploads one
// table (per row: its parameters, its draw u = uniform_draw(seed, draws) and the tokens its
// penalties change), one kernel samples every row (kernels/cuda/sampling.cu), and the chosen ids
// and log-probabilities come back in one small copy. The host states stay authoritative: they are
// updated here exactly as sample_token updates them, so a seed gives the same stream whichever
// backend samples and whatever else is in the batch.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/sampling.hpp"
#include "runtime/backend/cuda_backend.hpp"
#include "runtime/backend/cuda_backend_state.hpp"
#include "runtime/backend/cuda_checks.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace kc = kernels::cuda;
using namespace cuda_checks;

namespace {

static_assert(sizeof(kc::SamplingPenalty) == sizeof(PenaltyEntry) &&
                  offsetof(kc::SamplingPenalty, subtract) == offsetof(PenaltyEntry, subtract),
              "penalty entries are uploaded as they are");
static_assert(sizeof(kc::SamplingRowTask) % alignof(kc::SamplingPenalty) == 0,
              "the penalty table follows the row table in one upload");

// Reused across calls on one thread (a shard samples from its own thread every step).
struct HostTables {
  std::vector<kc::SamplingRowTask> tasks;
  std::vector<PenaltyEntry> penalties;
  std::vector<PenaltyEntry> row_penalties;
  std::vector<std::byte> upload;
  std::vector<kc::SamplingRowResult> results;
};

HostTables& host_tables() {
  thread_local HostTables tables;
  return tables;
}

kc::SamplingRowTask task_for(const RowSample& r, std::int64_t vocab, std::size_t penalty_offset,
                             std::size_t penalty_count, std::int64_t& scratch_rows) {
  const SamplingParams& p = *r.params;
  kc::SamplingRowTask task;
  task.row = r.row;
  task.greedy = p.greedy() ? 1 : 0;
  task.penalty_offset = static_cast<std::int64_t>(penalty_offset);
  task.penalty_count = static_cast<std::int32_t>(penalty_count);
  task.repetition_penalty = p.repetition_penalty;
  // A greedy row without penalties reads the logits as they are; every other row needs a copy.
  if (penalty_count > 0 || !p.greedy()) task.scratch_row = scratch_rows++;
  if (!p.greedy()) {
    task.u = uniform_draw(r.state->seed, r.state->draws);
    task.temperature = p.temperature;
    task.top_p = p.top_p;
    task.min_p = p.min_p;
    task.top_k = p.top_k > 0 && p.top_k < vocab ? p.top_k : 0;  // as sample_token turns it off
  }
  task.logprobs = p.logprobs ? 1 : 0;
  task.top_logprobs =
      p.logprobs ? std::min<std::int32_t>(p.top_logprobs, kc::kSamplingMaxTopLogprobs) : 0;
  return task;
}

}  // namespace

void CudaBackend::sample_rows(const Tensor& logits, std::span<const RowSample> rows,
                              std::span<SampledToken> out) {
  check_row_samples(logits.rows(), rows, out.size());
  if (rows.empty()) return;
  State& s = *state_;
  s.enter();
  TESSERA_CUDA_REQUIRE(s.step->mode() != cuda_step::Mode::capture &&
                           s.step->mode() != cuda_step::Mode::replay,
                       "sample_rows inside a recorded decode step");
  const float* data = f32_in(logits, "sample_rows logits");
  const std::int64_t vocab = logits.cols();
  if (vocab <= 0) throw Error(ErrorCategory::invalid_argument, "no logits to sample from");
  if (vocab >= kc::kSamplingMaxVocab) {  // the fixed-point masses could overflow
    Backend::sample_rows(logits, rows, out);
    return;
  }

  HostTables& t = host_tables();
  t.tasks.clear();
  t.penalties.clear();
  std::int64_t scratch_rows = 0;
  for (const RowSample& r : rows) {
    penalty_entries(*r.params, *r.state, vocab, t.row_penalties);  // throws for a bad token id
    t.tasks.push_back(
        task_for(r, vocab, t.penalties.size(), t.row_penalties.size(), scratch_rows));
    t.penalties.insert(t.penalties.end(), t.row_penalties.begin(), t.row_penalties.end());
  }

  const std::size_t task_bytes = t.tasks.size() * sizeof(kc::SamplingRowTask);
  const std::size_t penalty_bytes = t.penalties.size() * sizeof(PenaltyEntry);
  t.upload.resize(task_bytes + penalty_bytes);
  std::memcpy(t.upload.data(), t.tasks.data(), task_bytes);
  if (penalty_bytes > 0) std::memcpy(t.upload.data() + task_bytes, t.penalties.data(), penalty_bytes);
  const auto table = s.temporary(t.upload.size());
  // From pageable memory the source is staged before the call returns.
  check(cudaMemcpyAsync(table.get(), t.upload.data(), t.upload.size(), cudaMemcpyHostToDevice,
                        s.stream),
        "cudaMemcpyAsync (sample_rows table)");
  std::shared_ptr<void> scratch;
  if (scratch_rows > 0) {
    scratch = s.temporary(static_cast<std::size_t>(scratch_rows * vocab) * sizeof(float));
  }
  const auto results = s.temporary(rows.size() * sizeof(kc::SamplingRowResult));
  const auto* device_tasks = static_cast<const kc::SamplingRowTask*>(table.get());
  const auto* device_penalties = reinterpret_cast<const kc::SamplingPenalty*>(
      static_cast<const std::byte*>(table.get()) + task_bytes);
  kc::sample_rows_f32(data, vocab, device_tasks, static_cast<std::int64_t>(rows.size()),
                      device_penalties, static_cast<float*>(scratch.get()),
                      static_cast<kc::SamplingRowResult*>(results.get()), s.stream);
  check_launch("sample_rows_f32");
  t.results.resize(rows.size());
  check(cudaMemcpyAsync(t.results.data(), results.get(), rows.size() * sizeof(kc::SamplingRowResult),
                        cudaMemcpyDeviceToHost, s.stream),
        "cudaMemcpyAsync (sample_rows results)");
  check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize (sample_rows)");

  // As sample_token: a row that cannot be sampled is an error. No state changes before every row
  // has succeeded.
  for (const auto& result : t.results) {
    if (result.status != kc::kSamplingOk) {
      throw Error(ErrorCategory::invalid_argument,
                  "cannot sample: the largest logit is not finite");
    }
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const kc::SamplingRowResult& result = t.results[i];
    const SamplingParams& p = *rows[i].params;
    SamplingState& state = *rows[i].state;
    TESSERA_CUDA_REQUIRE(result.id >= 0 && result.id < vocab,
                         "sample_rows returned token " + std::to_string(result.id));
    SampledToken& token = out[i];
    token = SampledToken{};
    token.id = result.id;
    state.record(result.id);
    if (!p.greedy()) ++state.draws;
    if (p.logprobs) {
      token.logprob = result.logprob;
      const int count = std::clamp(result.top_count, 0, kc::kSamplingMaxTopLogprobs);
      token.top_logprobs.reserve(static_cast<std::size_t>(count));
      for (int k = 0; k < count; ++k) {
        token.top_logprobs.emplace_back(result.top_ids[k], result.top_logprobs[k]);
      }
    }
  }
}

}  // namespace tessera::runtime
