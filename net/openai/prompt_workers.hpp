#pragma once
// A few threads of the service's own for the expensive part of a completion request: parsing
// the body, rendering the chat template and tokenizing the prompt. Done on the HTTP I/O threads,
// two 8-MB prompts would hold both of them for seconds, and /health, streams and every other
// client would wait. The queue is bounded, so a flood is refused instead of piling up bodies.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::net {

class PromptWorkers {
 public:
  PromptWorkers(int threads, std::size_t max_waiting);
  ~PromptWorkers();  // stop()
  PromptWorkers(const PromptWorkers&) = delete;
  PromptWorkers& operator=(const PromptWorkers&) = delete;

  // Queues `task`; false, leaving it to the caller, when max_waiting tasks already wait or the
  // workers are stopping. A task must not throw.
  bool try_post(std::function<void()> task);

  // Lets the workers finish what is queued (the service refuses those quickly once it shuts
  // down), then joins them. Idempotent.
  void stop();

 private:
  void work();

  const std::size_t max_waiting_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tessera::net
