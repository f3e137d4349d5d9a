#include "runtime/sampling/sampling_params.hpp"

#include <cmath>
#include <sstream>

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

// "<prefix><field> must be <rule> (got <value>)": the caller sees which field of their request
// is wrong and what would have been accepted.
template <typename T>
[[noreturn]] void reject(const std::string& prefix, const char* field, const char* rule, T value) {
  std::ostringstream message;
  message << prefix << field << " must be " << rule << " (got " << value << ")";
  throw Error(ErrorCategory::invalid_argument, prefix + field, message.str());
}

// Comparisons are written so that NaN fails them: `!(x >= 0)` rejects NaN, `x < 0` would not.
void check_range(const std::string& prefix, const char* field, const char* rule, float value,
                 float low, float high) {
  if (!(value >= low && value <= high)) reject(prefix, field, rule, value);
}

}  // namespace

void SamplingParams::validate(const std::string& prefix) const {
  if (!(temperature >= 0.0f)) reject(prefix, "temperature", ">= 0", temperature);
  if (!std::isfinite(temperature)) reject(prefix, "temperature", "finite", temperature);
  if (top_k < 0) reject(prefix, "top_k", ">= 0 (0 turns it off)", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) reject(prefix, "top_p", "in (0, 1]", top_p);
  check_range(prefix, "min_p", "in [0, 1]", min_p, 0.0f, 1.0f);
  if (!(repetition_penalty > 0.0f)) {
    reject(prefix, "repetition_penalty", "> 0", repetition_penalty);
  }
  if (!std::isfinite(repetition_penalty)) {
    reject(prefix, "repetition_penalty", "finite", repetition_penalty);
  }
  check_range(prefix, "presence_penalty", "in [-2, 2]", presence_penalty, -2.0f, 2.0f);
  check_range(prefix, "frequency_penalty", "in [-2, 2]", frequency_penalty, -2.0f, 2.0f);
  if (top_logprobs < 0 || top_logprobs > 20) {
    reject(prefix, "top_logprobs", "in [0, 20]", top_logprobs);
  }
  // As the OpenAI API: alternatives are only reported alongside the chosen token's own.
  if (top_logprobs > 0 && !logprobs) {
    throw Error(ErrorCategory::invalid_argument, prefix + "top_logprobs",
                prefix + "top_logprobs requires " + prefix +
                    "logprobs to be true (got top_logprobs " + std::to_string(top_logprobs) + ")");
  }
}

}  // namespace tessera::runtime
