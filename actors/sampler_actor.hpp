#pragma once
// What happens after a token exists: incremental detokenization, stop strings, log-probability
// formatting and delivering events to each request's sink. Tells the scheduler when a stop
// string ends a sequence, so its blocks return to the pool.
//
// Protocol: (init_atom, scheduler), (start_atom, RequestStart, RequestSinkPtr), SamplerBatch,
// shutdown_atom -> ends every request still open as "cancelled".
#include <memory>

#include <caf/fwd.hpp>

namespace tessera::runtime {
class Tokenizer;
}

namespace tessera::actors {

struct SamplerConfig {
  std::shared_ptr<const runtime::Tokenizer> tokenizer;  // null: token ids only, no text
};

caf::actor spawn_sampler(caf::actor_system& system, SamplerConfig config);

}  // namespace tessera::actors
