#pragma once
// Token sampling on the GPU (see sampling.cu): one block per row of f32 logits computes what the
// host sampler (runtime/sampling/token_sampler.hpp) computes — penalties, greedy argmax, or
// temperature, top-k, top-p, min-p and one inverse-CDF draw — plus the raw log-probabilities, and
// writes a few bytes per row. The tables below are built on the host and uploaded as they are.
#include <cuda_runtime.h>

#include <cstdint>

namespace tessera::kernels::cuda {

constexpr int kSamplingMaxTopLogprobs = 20;
// Probability masses are summed as 64-bit fixed-point numbers with 2^45 for the most likely
// token's weight (see sampling.cu); a row of fewer than 2^19 tokens cannot overflow them.
constexpr std::int64_t kSamplingMaxVocab = std::int64_t{1} << 19;

// One token whose logit a penalty changes (runtime::PenaltyEntry's layout).
struct SamplingPenalty {
  std::int32_t id = 0;
  std::int32_t repetition = 0;  // 1: divide a positive logit by, multiply a negative one by, the penalty
  float subtract = 0.0f;        // then subtract this
};

struct SamplingRowTask {
  std::int64_t row = 0;              // row of the logits
  std::int64_t scratch_row = -1;     // row of the scratch buffer; -1 when greedy without penalties
  std::int64_t penalty_offset = 0;   // this row's entries in the penalty table
  std::int32_t penalty_count = 0;
  std::int32_t greedy = 0;
  double u = 0.0;                    // the draw, k / 2^53 (runtime::uniform_draw's values)
  float temperature = 1.0f;
  float top_p = 1.0f;                // 1: off
  float min_p = 0.0f;                // 0: off
  float repetition_penalty = 1.0f;
  std::int32_t top_k = 0;            // 0: off (also when it would keep the whole vocabulary)
  std::int32_t logprobs = 0;         // 1: report the chosen token's log-probability
  std::int32_t top_logprobs = 0;     // and this many alternatives (<= kSamplingMaxTopLogprobs)
  std::int32_t padding = 0;
};

enum SamplingStatus : std::int32_t { kSamplingOk = 0, kSamplingNoFiniteMaximum = 1 };

struct SamplingRowResult {
  std::int32_t id = 0;
  std::int32_t status = kSamplingOk;
  float logprob = 0.0f;
  std::int32_t top_count = 0;
  std::int32_t top_ids[kSamplingMaxTopLogprobs] = {};
  float top_logprobs[kSamplingMaxTopLogprobs] = {};
};

// Samples `count` rows: task i reads logits + tasks[i].row * vocab and writes results[i].
// `scratch` holds one row of vocab floats per task with scratch_row >= 0. vocab must be below
// kSamplingMaxVocab.
void sample_rows_f32(const float* logits, std::int64_t vocab, const SamplingRowTask* tasks,
                     std::int64_t count, const SamplingPenalty* penalties, float* scratch,
                     SamplingRowResult* results, cudaStream_t stream);

}  // namespace tessera::kernels::cuda
