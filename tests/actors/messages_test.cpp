// Every actor message round-trips through CAF's binary serializer: the plan is data, and the same
// bytes must come back out (an unregistered or half-inspected type would lose fields silently).
#include <gtest/gtest.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/messages.hpp"

namespace tessera::actors {
namespace {

template <class T>
std::vector<char> serialize(T& value) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  EXPECT_FALSE(sink(value));
  return buf;
}

// Serializes, deserializes into a fresh value, and serializes that again: equal bytes.
template <class T>
T round_trip(T value) {
  auto bytes = serialize(value);
  EXPECT_FALSE(bytes.empty());
  T back{};
  caf::binary_deserializer source{nullptr, bytes};
  EXPECT_FALSE(source(back));
  EXPECT_EQ(serialize(back), bytes);
  return back;
}

runtime::SamplingParams params() {
  runtime::SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.9f;
  p.min_p = 0.05f;
  p.repetition_penalty = 1.1f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = -0.25f;
  p.seed = 7;
  p.logprobs = true;
  p.top_logprobs = 3;
  return p;
}

TEST(Messages, SamplingParamsKeepsSeedAndItsAbsence) {
  auto back = round_trip(params());
  ASSERT_TRUE(back.seed.has_value());
  EXPECT_EQ(*back.seed, 7u);
  EXPECT_FLOAT_EQ(back.frequency_penalty, -0.25f);
  EXPECT_EQ(back.top_logprobs, 3);
  runtime::SamplingParams no_seed;
  no_seed.seed.reset();
  runtime::SamplingParams seeded_target = params();  // deserializing must also clear a seed
  auto bytes = serialize(no_seed);
  caf::binary_deserializer source{nullptr, bytes};
  ASSERT_FALSE(source(seeded_target));
  EXPECT_FALSE(seeded_target.seed.has_value());
}

TEST(Messages, GenerateRequest) {
  GenerateRequest r{{1, 2, 3}, params(), 9, {"\n\n", "END"}, true, false};
  auto back = round_trip(r);
  EXPECT_EQ(back.prompt, r.prompt);
  EXPECT_EQ(back.max_tokens, 9);
  EXPECT_EQ(back.stop, r.stop);
  EXPECT_TRUE(back.ignore_eos);
  EXPECT_FALSE(back.skip_special_tokens);
  EXPECT_TRUE(back.stop_token_ids.empty());
  r.stop_token_ids = {7, 11};
  r.include_stop_str_in_output = true;
  back = round_trip(r);
  EXPECT_EQ(back.stop_token_ids, r.stop_token_ids);
  EXPECT_TRUE(back.include_stop_str_in_output);
}

TEST(Messages, StepPlanWithSequences) {
  StepPlan plan;
  plan.step = 42;
  plan.sequences.push_back({5, {10, 11, 12}, 16, {3, 9}, true, true, params(), {1, 2}});
  plan.sequences.push_back({6, {7}, 3, {0}, false, false, {}, {}});
  plan.sequences[1].block_offset = 4;  // a delta: blocks from index 4 on
  plan.released = {1, 2, 3};
  auto back = round_trip(plan);
  ASSERT_EQ(back.sequences.size(), 2u);
  EXPECT_EQ(back.step, 42u);
  EXPECT_EQ(back.sequences[0].tokens, plan.sequences[0].tokens);
  EXPECT_EQ(back.sequences[0].block_table, plan.sequences[0].block_table);
  EXPECT_EQ(back.sequences[0].first_position, 16);
  EXPECT_TRUE(back.sequences[0].starts);
  EXPECT_EQ(back.sequences[0].prompt, plan.sequences[0].prompt);
  EXPECT_FALSE(back.sequences[1].needs_token);
  EXPECT_EQ(back.sequences[0].block_offset, 0);
  EXPECT_EQ(back.sequences[1].block_offset, 4);
  EXPECT_EQ(back.released, plan.released);
}

TEST(Messages, StepResultAndTokens) {
  StepResult result{3, {{5, 17, -0.5f, {17, 4}, {-0.5f, -1.5f}}, {6, 2, -0.1f, {}, {}}}};
  auto back = round_trip(result);
  ASSERT_EQ(back.tokens.size(), 2u);
  EXPECT_EQ(back.tokens[0].top_ids, result.tokens[0].top_ids);
  EXPECT_EQ(back.tokens[0].top_logprobs, result.tokens[0].top_logprobs);
  EXPECT_EQ(back.tokens[1].id, 2);
  round_trip(GeneratedToken{9, 1, -2.0f, {1}, {-2.0f}});
}

TEST(Messages, AcksAndBookkeeping) {
  auto ack = round_trip(ShardAck{8, 3, false, {ErrorCategory::internal, {}, "rank 3: out of memory"}});
  EXPECT_EQ(ack.rank, 3);
  EXPECT_FALSE(ack.healthy);
  EXPECT_EQ(ack.failure.message, "rank 3: out of memory");
  EXPECT_EQ(round_trip(ShardReady{2, 128}).kv_blocks, 128);
  EXPECT_EQ(round_trip(FinishedSequence{4, "error", {ErrorCategory::io, {}, "boom"}}).failure.message,
            "boom");
  auto batch = round_trip(SamplerBatch{{{1, 2, 0.0f, {}, {}}}, {{1, "length", {}}}});
  EXPECT_EQ(batch.finished.at(0).reason, "length");
  auto start = round_trip(RequestStart{11, 5, {"stop"}, false, true});
  EXPECT_EQ(start.stop, std::vector<std::string>{"stop"});
  EXPECT_TRUE(start.logprobs);
  EXPECT_EQ(round_trip(EngineStats{10, 4, 2, 1, 3, 99}).steps, 99);
}

// A failure keeps what it is across the wire, not only its words: the HTTP layer answers by
// category and names the field as `param`.
TEST(Messages, FailuresKeepTheirCategoryAndField) {
  const Failure failure{ErrorCategory::invalid_argument, "max_tokens", "max_tokens: must be at least 1"};
  EXPECT_EQ(round_trip(failure), failure);
  const auto finished = round_trip(FinishedSequence{4, "error", {ErrorCategory::unavailable, {}, "x"}});
  EXPECT_EQ(finished.failure.category, ErrorCategory::unavailable);
  const auto ack = round_trip(ShardAck{8, 3, false, {ErrorCategory::checkpoint, {}, "rank 3: truncated"}});
  EXPECT_EQ(ack.failure.category, ErrorCategory::checkpoint);
}

// A peer of another build could send a category this one does not know: refused on arrival.
TEST(Messages, AFailureOfAnUnknownCategoryIsRefused) {
  Failure alien{ErrorCategory::internal, {}, "from the future"};
  alien.category = static_cast<ErrorCategory>(static_cast<int>(ErrorCategory::internal) + 1);
  auto bytes = serialize(alien);
  Failure back;
  caf::binary_deserializer source{nullptr, bytes};
  EXPECT_TRUE(source(back));
}

TEST(Messages, TypeIdsAreAssignedInOneBlock) {
  EXPECT_EQ(caf::type_id<runtime::SamplingParams>::value, caf::first_custom_type_id);
  EXPECT_LT(caf::type_id<RequestSinkPtr>::value, caf::id_block::tessera_actors::end);
  EXPECT_LT(caf::type_id<Failure>::value, caf::id_block::tessera_actors::end);
  EXPECT_EQ(caf::id_block::tessera_actors::end - caf::id_block::tessera_actors::begin, 14);
}

}  // namespace
}  // namespace tessera::actors
