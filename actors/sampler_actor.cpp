#include "actors/sampler_actor.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <optional>
#include <unordered_map>

#include "actors/messages.hpp"
#include "actors/request_sink.hpp"
#include "actors/stop_matcher.hpp"
#include "runtime/tokenizer/streaming_detokenizer.hpp"

namespace tessera::actors {
namespace {

struct Stream {
  RequestSinkPtr sink;
  std::unique_ptr<runtime::StreamingDetokenizer> detokenizer;  // null without a tokenizer
  StopMatcher stop;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool logprobs = false;
  std::vector<std::int32_t> stop_token_ids;
  bool include_stop = false;  // include_stop_str_in_output
};

// Whether `token` ended its sequence as one of the request's stop token ids and, as vLLM does,
// its text is to be left out.
bool drops_stop_token(const Stream& stream, std::int32_t token, const FinishedSequence* end) {
  return end != nullptr && end->reason == "stop" && !stream.include_stop &&
         std::find(stream.stop_token_ids.begin(), stream.stop_token_ids.end(), token) !=
             stream.stop_token_ids.end();
}

struct SamplerState {
  SamplerConfig config;
  caf::actor scheduler;
  std::unordered_map<std::uint64_t, Stream> streams;
  static inline const char* name = "tessera.sampler";
};

using SamplerActor = caf::stateful_actor<SamplerState>;

void finish(SamplerActor* self, std::uint64_t id, const std::string& reason,
            const Failure& failure) {
  auto it = self->state.streams.find(id);
  if (it == self->state.streams.end()) return;
  it->second.sink->finish(
      {id, reason, it->second.prompt_tokens, it->second.completion_tokens, failure});
  self->state.streams.erase(it);
}

// The text a token completes, through the detokenizer and the stop strings; at the end of the
// stream (`last`) everything held back is released too. Returns whether a stop string matched.
bool add_text(Stream& stream, std::optional<std::int32_t> token, bool last, std::string& text) {
  if (!stream.detokenizer) return false;
  std::string piece;
  if (token) piece = stream.detokenizer->push(*token);
  if (last) piece += stream.detokenizer->finish();
  auto pushed = stream.stop.push(piece);
  text += pushed.text;
  if (pushed.stopped) return true;
  if (last) text += stream.stop.flush();
  return false;
}

void on_batch(SamplerActor* self, const SamplerBatch& batch) {
  auto& streams = self->state.streams;
  std::unordered_map<std::uint64_t, const FinishedSequence*> ending;
  for (const auto& f : batch.finished) ending.emplace(f.seq_id, &f);

  // One event reused for every token: its vectors and text keep their capacity (sinks get a
  // const reference and copy what they keep).
  TokenEvent event;
  for (const auto& token : batch.tokens) {
    auto it = streams.find(token.seq_id);
    if (it == streams.end()) continue;
    Stream& stream = it->second;
    const auto end = ending.find(token.seq_id);
    const bool last = end != ending.end() && end->second->reason != "cancelled" &&
                      end->second->reason != "error";
    event.request_id = token.seq_id;
    event.token_ids.assign(1, token.id);
    event.text.clear();
    event.logprobs.clear();
    event.top_logprobs.clear();
    if (stream.logprobs) {
      event.logprobs.push_back(token.logprob);
      auto& top = event.top_logprobs.emplace_back();
      for (std::size_t i = 0; i < token.top_ids.size() && i < token.top_logprobs.size(); ++i) {
        top.emplace_back(token.top_ids[i], token.top_logprobs[i]);
      }
    }
    ++stream.completion_tokens;
    bool stopped = false;
    try {
      const auto* finished = end == ending.end() ? nullptr : end->second;
      const auto text_token = drops_stop_token(stream, token.id, finished)
                                  ? std::nullopt
                                  : std::optional<std::int32_t>(token.id);
      stopped = add_text(stream, text_token, last, event.text);
    } catch (const std::exception& e) {
      stream.sink->token(event);
      self->send(self->state.scheduler, finished_atom::value, token.seq_id);
      // The model's own token, not the client's text: the server's fault whatever was thrown.
      finish(self, token.seq_id, "error",
             {ErrorCategory::internal, {}, std::string("detokenizing: ") + e.what()});
      continue;
    }
    stream.sink->token(event);
    if (stopped) {
      // Ends the sequence at the scheduler's next step; a token computed meanwhile is dropped.
      if (end == ending.end()) self->send(self->state.scheduler, finished_atom::value, token.seq_id);
      finish(self, token.seq_id, "stop", {});
    }
  }
  for (const auto& f : batch.finished) {
    auto it = streams.find(f.seq_id);
    if (it == streams.end()) continue;
    finish(self, f.seq_id, f.reason, f.failure);
  }
}

caf::behavior sampler(SamplerActor* self, SamplerConfig config) {
  self->state.config = std::move(config);
  return {
      [=](init_atom, caf::actor& scheduler) { self->state.scheduler = std::move(scheduler); },
      [=](start_atom, RequestStart& start, RequestSinkPtr& sink) {
        Stream stream{std::move(sink),
                      nullptr,
                      StopMatcher(std::move(start.stop), start.include_stop_str_in_output),
                      start.prompt_tokens,
                      0,
                      start.logprobs,
                      std::move(start.stop_token_ids),
                      start.include_stop_str_in_output};
        if (self->state.config.tokenizer) {
          stream.detokenizer = std::make_unique<runtime::StreamingDetokenizer>(
              *self->state.config.tokenizer, start.skip_special_tokens);
        }
        self->state.streams.insert_or_assign(start.id, std::move(stream));
      },
      [=](const SamplerBatch& batch) { on_batch(self, batch); },
      [=](shutdown_atom) {
        std::vector<std::uint64_t> open;
        for (const auto& [id, stream] : self->state.streams) open.push_back(id);
        const Failure stopping{ErrorCategory::unavailable, {}, "the engine is shutting down"};
        for (const auto id : open) finish(self, id, "cancelled", stopping);
        return true;
      },
  };
}

}  // namespace

caf::actor spawn_sampler(caf::actor_system& system, SamplerConfig config) {
  return system.spawn(sampler, std::move(config));
}

}  // namespace tessera::actors
