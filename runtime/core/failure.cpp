#include "runtime/core/failure.hpp"

namespace tessera {

Failure Failure::of(const std::exception& e) {
  if (const auto* error = dynamic_cast<const Error*>(&e)) {
    return {error->category(), error->field(), error->what()};
  }
  return {ErrorCategory::internal, {}, e.what()};
}

}  // namespace tessera
