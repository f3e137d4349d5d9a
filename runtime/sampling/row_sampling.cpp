// Sampling several rows of one step's logits on the host: the Backend's default sample_rows, and
// the checks every backend's sample_rows makes first.
#include <string>

#include "runtime/core/error.hpp"
#include "runtime/sampling/token_sampler.hpp"

namespace tessera::runtime {

void check_row_samples(std::int64_t logit_rows, std::span<const RowSample> rows,
                       std::size_t out_size) {
  if (out_size != rows.size()) {
    throw Error(ErrorCategory::invalid_argument,
                "sample_rows: " + std::to_string(rows.size()) + " rows to sample but " +
                    std::to_string(out_size) + " places for their tokens");
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RowSample& r = rows[i];
    if (r.row < 0 || r.row >= logit_rows) {
      throw Error(ErrorCategory::invalid_argument,
                  "sample_rows: rows[" + std::to_string(i) + "].row = " + std::to_string(r.row) +
                      " is outside the " + std::to_string(logit_rows) + " rows of logits");
    }
    if (r.params == nullptr || r.state == nullptr) {
      throw Error(ErrorCategory::invalid_argument,
                  "sample_rows: rows[" + std::to_string(i) + "] has no parameters or no state");
    }
  }
}

void sample_host_rows(std::span<const float> logits, std::int64_t vocab,
                      std::span<const RowSample> rows, std::span<SampledToken> out) {
  const auto width = static_cast<std::size_t>(vocab);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto offset = static_cast<std::size_t>(rows[i].row) * width;
    if (offset + width > logits.size()) {
      throw Error(ErrorCategory::invalid_argument,
                  "sample_rows: row " + std::to_string(rows[i].row) + " of " +
                      std::to_string(vocab) + " logits lies beyond the " +
                      std::to_string(logits.size()) + " values given");
    }
    out[i] = sample_token(logits.subspan(offset, width), *rows[i].params, *rows[i].state);
  }
}

}  // namespace tessera::runtime
