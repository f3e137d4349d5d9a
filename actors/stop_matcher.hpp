#pragma once
// Stop strings over streamed text: push() returns the text that is final (it cannot be part of
// a stop string any more) and holds back a tail that could still become one. When a stop string
// appears, the text before it is returned and the match is over; the stop string itself is
// delivered only with `include_stop` (vLLM's include_stop_str_in_output), and nothing after it
// ever is. Pure and byte-based: a held tail starts where a (valid UTF-8) stop string
// could start, so delivered text never splits a character.
#include <string>
#include <string_view>
#include <vector>

namespace tessera::actors {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops, bool include_stop = false)
      : stops_(std::move(stops)), include_stop_(include_stop) {
    std::erase(stops_, std::string{});  // an empty stop string would match everywhere
  }

  struct Pushed {
    std::string text;      // deliverable now
    bool stopped = false;  // a stop string was found: nothing more will be delivered
  };
  Pushed push(std::string_view text);
  // The end of the stream: the held tail is final.
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  bool include_stop_ = false;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace tessera::actors
