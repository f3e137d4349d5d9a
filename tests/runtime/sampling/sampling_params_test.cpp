// SamplingParams::validate: every field's range, with messages that name the field (behind the
// caller's prefix) and what it accepts.
#include "runtime/sampling/sampling_params.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

// The message validate() throws, or "" when it accepts the parameters.
std::string rejection(const SamplingParams& params, const std::string& prefix = "") {
  try {
    params.validate(prefix);
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument);
    return e.what();
  }
  return "";
}

SamplingParams with(const std::function<void(SamplingParams&)>& change) {
  SamplingParams params;
  change(params);
  return params;
}

TEST(SamplingParamsTest, DefaultsAndBoundariesAreValid) {
  EXPECT_EQ(rejection(SamplingParams{}), "");
  SamplingParams edges;
  edges.temperature = 0.0f;
  edges.top_k = 0;
  edges.top_p = 1.0f;
  edges.min_p = 1.0f;
  edges.repetition_penalty = 1e-3f;
  edges.presence_penalty = -2.0f;
  edges.frequency_penalty = 2.0f;
  edges.logprobs = true;
  edges.top_logprobs = 20;
  EXPECT_EQ(rejection(edges), "");
  edges.top_p = 1e-6f;
  edges.min_p = 0.0f;
  edges.presence_penalty = 2.0f;
  edges.frequency_penalty = -2.0f;
  edges.top_logprobs = 0;
  edges.logprobs = false;
  EXPECT_EQ(rejection(edges), "");
}

TEST(SamplingParamsTest, NamesTheFieldItsRangeAndTheValue) {
  EXPECT_EQ(rejection(with([](auto& p) { p.temperature = -1.0f; }), "request."),
            "request.temperature must be >= 0 (got -1)");
  EXPECT_EQ(rejection(with([](auto& p) { p.top_p = 1.5f; })), "top_p must be in (0, 1] (got 1.5)");
  EXPECT_EQ(rejection(with([](auto& p) {
              p.top_logprobs = 21;
              p.logprobs = true;
            })),
            "top_logprobs must be in [0, 20] (got 21)");
}

struct BadValue {
  const char* field;
  std::function<void(SamplingParams&)> change;
};

TEST(SamplingParamsTest, RejectsEachFieldOutOfRange) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const BadValue cases[] = {
      {"temperature", [](auto& p) { p.temperature = -0.5f; }},
      {"temperature", [=](auto& p) { p.temperature = inf; }},
      {"temperature", [=](auto& p) { p.temperature = nan; }},
      {"top_k", [](auto& p) { p.top_k = -1; }},
      {"top_p", [](auto& p) { p.top_p = 0.0f; }},
      {"top_p", [](auto& p) { p.top_p = 1.0001f; }},
      {"top_p", [=](auto& p) { p.top_p = nan; }},
      {"min_p", [](auto& p) { p.min_p = -0.1f; }},
      {"min_p", [](auto& p) { p.min_p = 1.1f; }},
      {"repetition_penalty", [](auto& p) { p.repetition_penalty = 0.0f; }},
      {"repetition_penalty", [](auto& p) { p.repetition_penalty = -1.0f; }},
      {"repetition_penalty", [=](auto& p) { p.repetition_penalty = inf; }},
      {"presence_penalty", [](auto& p) { p.presence_penalty = -2.5f; }},
      {"presence_penalty", [](auto& p) { p.presence_penalty = 2.01f; }},
      {"frequency_penalty", [](auto& p) { p.frequency_penalty = 3.0f; }},
      {"frequency_penalty", [=](auto& p) { p.frequency_penalty = nan; }},
      {"top_logprobs",
       [](auto& p) {
         p.logprobs = true;
         p.top_logprobs = -1;
       }},
      {"top_logprobs",
       [](auto& p) {
         p.logprobs = true;
         p.top_logprobs = 21;
       }},
  };
  for (const auto& bad : cases) {
    const std::string message = rejection(with(bad.change), "body.");
    EXPECT_EQ(message.rfind(std::string("body.") + bad.field + " must be ", 0), 0u)
        << bad.field << ": " << message;
  }
}

TEST(SamplingParamsTest, TopLogprobsRequiresLogprobs) {
  const std::string message = rejection(with([](auto& p) { p.top_logprobs = 3; }), "x.");
  EXPECT_NE(message.find("x.top_logprobs"), std::string::npos) << message;
  EXPECT_NE(message.find("x.logprobs"), std::string::npos) << message;
}

}  // namespace
}  // namespace tessera::runtime
