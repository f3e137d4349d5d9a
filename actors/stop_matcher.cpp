#include "actors/stop_matcher.hpp"

#include <algorithm>

namespace tessera::actors {

StopMatcher::Pushed StopMatcher::push(std::string_view text) {
  Pushed out;
  if (stopped_) {
    out.stopped = true;
    return out;
  }
  pending_.append(text);
  if (stops_.empty()) {
    out.text = std::move(pending_);
    pending_.clear();
    return out;
  }
  // The earliest complete stop string ends the stream; of two starting there, the shorter one,
  // which a token-by-token stream would have completed first.
  std::size_t first = std::string::npos;
  std::size_t length = 0;
  for (const auto& stop : stops_) {
    const auto at = pending_.find(stop);
    if (at < first || (at == first && at != std::string::npos && stop.size() < length)) {
      first = at;
      length = stop.size();
    }
  }
  if (first != std::string::npos) {
    out.text = pending_.substr(0, first + (include_stop_ ? length : 0));
    out.stopped = stopped_ = true;
    pending_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of some stop string.
  std::size_t hold = 0;
  for (const auto& stop : stops_) {
    for (std::size_t k = std::min(stop.size() - 1, pending_.size()); k > hold; --k) {
      if (std::string_view(pending_).substr(pending_.size() - k) ==
          std::string_view(stop).substr(0, k)) {
        hold = k;
        break;
      }
    }
  }
  out.text = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  std::string out = stopped_ ? std::string{} : std::move(pending_);
  pending_.clear();
  return out;
}

}  // namespace tessera::actors
