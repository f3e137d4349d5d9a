// The sampler actor with a real (tiny, byte-level BPE) tokenizer: incremental text, stop strings
// that cut the text before them and tell the scheduler, held-back text released at the end.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <mutex>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "actors/request_sink.hpp"
#include "actors/sampler_actor.hpp"
#include "runtime/tokenizer/tokenizer.hpp"
#include "tests/support/tiny_tokenizer.hpp"

namespace tessera::actors {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const runtime::Tokenizer> tiny_tokenizer() {
  const auto json = ::tessera::test::tiny_tokenizer_json();
  return std::make_shared<runtime::Tokenizer>(
      runtime::Tokenizer::from_json_text(json.dump(), "tiny.json"));
}

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> texts;
  std::vector<std::int32_t> ids;
  RequestSinkPtr sink(std::uint64_t id) {
    return std::make_shared<RequestSink>(id, [this](const TokenEvent& e) {
      std::lock_guard lock(mutex);
      texts.push_back(e.text);
      ids.insert(ids.end(), e.token_ids.begin(), e.token_ids.end());
    }, nullptr);
  }
};

SamplerBatch tokens(std::uint64_t id, std::initializer_list<std::int32_t> ids) {
  SamplerBatch b;
  for (auto t : ids) b.tokens.push_back({id, t, 0.0f, {}, {}});
  return b;
}

class SamplerActorTest : public ::testing::Test {
 protected:
  SamplerActorTest() : system_(cfg_), self_(system_) {
    sampler_ = spawn_sampler(system_, SamplerConfig{tiny_tokenizer()});
    self_->send(sampler_, init_atom::value, caf::actor_cast<caf::actor>(self_));
  }
  ~SamplerActorTest() override { caf::anon_send_exit(sampler_, caf::exit_reason::user_shutdown); }

  void start(std::uint64_t id, std::vector<std::string> stop, const RequestSinkPtr& sink) {
    self_->send(sampler_, start_atom::value, RequestStart{id, 3, std::move(stop), true, false}, sink);
  }

  caf::actor_system_config cfg_;
  caf::actor_system system_;
  caf::scoped_actor self_;
  caf::actor sampler_;
};

TEST_F(SamplerActorTest, StopStringCutsTextAndEndsTheSequence) {
  Recorder rec;
  auto sink = rec.sink(1);
  start(1, {"b c"}, sink);
  // Token by token, as the scheduler would send them.
  for (auto id : {0, 1, 3, 4, 0}) self_->send(sampler_, tokens(1, {id}));
  auto final = sink->wait_for(5s);
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(final->finish_reason, "stop");
  EXPECT_EQ(final->completion_tokens, 4);  // the fifth token came after the stop: dropped
  std::string text;
  for (const auto& t : rec.texts) text += t;
  EXPECT_EQ(text, "a");
  bool told = false;
  self_->receive([&](finished_atom, std::uint64_t id) { told = id == 1; },
                 caf::after(5s) >> [] {});
  EXPECT_TRUE(told);
}

// As vLLM: the text of a stop token id is left out, unless include_stop_str_in_output.
TEST_F(SamplerActorTest, AStopTokenIdsTextIsLeftOutUnlessIncluded) {
  for (const bool include : {false, true}) {
    Recorder rec;
    const std::uint64_t id = include ? 11 : 10;
    auto sink = rec.sink(id);
    self_->send(sampler_, start_atom::value,
                RequestStart{id, 3, {}, true, false, {4}, include}, sink);
    self_->send(sampler_, tokens(id, {0, 1}));
    auto last = tokens(id, {4});  // "c", which the scheduler ended the sequence on
    last.finished.push_back({id, "stop", {}});
    self_->send(sampler_, last);
    auto final = sink->wait_for(5s);
    ASSERT_TRUE(final.has_value());
    EXPECT_EQ(final->finish_reason, "stop");
    EXPECT_EQ(final->completion_tokens, 3);
    std::string text;
    for (const auto& t : rec.texts) text += t;
    EXPECT_EQ(text, include ? "abc" : "ab") << "include_stop_str_in_output " << include;
  }
}

TEST_F(SamplerActorTest, AnIncludedStopStringIsDelivered) {
  Recorder rec;
  auto sink = rec.sink(12);
  self_->send(sampler_, start_atom::value, RequestStart{12, 3, {"b c"}, true, false, {}, true}, sink);
  for (auto id : {0, 1, 3, 4, 0}) self_->send(sampler_, tokens(12, {id}));
  auto final = sink->wait_for(5s);
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(final->finish_reason, "stop");
  std::string text;
  for (const auto& t : rec.texts) text += t;
  EXPECT_EQ(text, "ab c");
}

TEST_F(SamplerActorTest, HeldTextIsReleasedAtTheEndAndSpecialsSkipped) {
  Recorder rec;
  auto sink = rec.sink(2);
  start(2, {"cc"}, sink);
  self_->send(sampler_, tokens(2, {2}));
  self_->send(sampler_, tokens(2, {5}));
  auto last = tokens(2, {4});
  last.finished.push_back({2, "length", {}});
  self_->send(sampler_, last);
  auto final = sink->wait_for(5s);
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(final->finish_reason, "length");
  EXPECT_EQ(final->prompt_tokens, 3);
  std::string text;
  for (const auto& t : rec.texts) text += t;
  EXPECT_EQ(text, "abc");  // "c" was held (it could start "cc") until the stream ended
  EXPECT_EQ(rec.ids, (std::vector<std::int32_t>{2, 5, 4}));
}

TEST_F(SamplerActorTest, EachTokenEventCarriesOnlyItsOwnRequestsFields) {
  // Two requests in one batch, only the first asking for log-probabilities: the second's event
  // must not carry any (the sampler builds the events of a batch in one reused object).
  std::mutex mutex;
  std::vector<TokenEvent> events;
  const auto record = [&](const TokenEvent& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  };
  auto with = std::make_shared<RequestSink>(4, record, nullptr);
  auto without = std::make_shared<RequestSink>(5, record, nullptr);
  self_->send(sampler_, start_atom::value, RequestStart{4, 3, {}, true, true}, with);
  self_->send(sampler_, start_atom::value, RequestStart{5, 3, {}, true, false}, without);
  SamplerBatch batch;
  batch.tokens.push_back({4, 2, -0.5f, {2, 3}, {-0.5f, -1.5f}});
  batch.tokens.push_back({5, 3, -0.25f, {}, {}});
  batch.finished = {{4, "length", {}}, {5, "length", {}}};
  self_->send(sampler_, batch);
  ASSERT_TRUE(with->wait_for(5s).has_value());
  ASSERT_TRUE(without->wait_for(5s).has_value());
  std::lock_guard lock(mutex);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].request_id, 4u);
  EXPECT_EQ(events[0].token_ids, std::vector<std::int32_t>{2});
  EXPECT_EQ(events[0].logprobs, std::vector<float>{-0.5f});
  ASSERT_EQ(events[0].top_logprobs.size(), 1u);
  EXPECT_EQ(events[0].top_logprobs[0].size(), 2u);
  EXPECT_EQ(events[1].request_id, 5u);
  EXPECT_EQ(events[1].token_ids, std::vector<std::int32_t>{3});
  EXPECT_TRUE(events[1].logprobs.empty());
  EXPECT_TRUE(events[1].top_logprobs.empty());
}

TEST_F(SamplerActorTest, ShutdownCancelsOpenRequests) {
  Recorder rec;
  auto sink = rec.sink(3);
  start(3, {}, sink);
  self_->request(sampler_, 2s, shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
  auto final = sink->wait_for(1s);
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(final->finish_reason, "cancelled");
}

}  // namespace
}  // namespace tessera::actors
