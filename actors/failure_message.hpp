#pragma once
// A Failure inside a caf::error, for the answers that fail as CAF errors (a shard's step, init or
// regroup; a node link's forwarded request). The Failure travels as the error's context, so it
// crosses nodes with its category and field; errors CAF raises itself (a timeout, an actor that
// died) carry none and are read as internal, in CAF's words.
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <optional>

#include "actors/messages.hpp"

namespace tessera::actors {

inline caf::error to_caf_error(Failure failure) {
  return caf::make_error(caf::sec::runtime_error, std::move(failure));
}

inline Failure failure_of(caf::actor_system& system, const caf::error& error) {
  const auto& context = error.context();
  if (context.match_elements<Failure>()) return context.get_as<Failure>(0);
  return {ErrorCategory::internal, {}, system.render(error)};
}

// Several ranks' failures as one, in rank order: the first one's category and field, every
// one's words ("rank 2: …; rank 3: …").
inline void add_failure(std::optional<Failure>& all, const Failure& one) {
  if (!all) {
    all = one;
    return;
  }
  all->message += "; " + one.message;
}

}  // namespace tessera::actors
