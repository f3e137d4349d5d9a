// GlooCommunicator's transfers between two ranks and its split into subgroups.
#include <gloo/allgather.h>
#include <gloo/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/comm/gloo_communicator.hpp"
#include "runtime/comm/gloo_communicator_state.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

// Gloo's collectives use slot prefixes 0x01-0x08 (gloo/types.h); transfers use their own, one per
// direction, so that a transfer never matches a collective's message or one going the other way.
constexpr std::uint8_t kUpwardSlotPrefix = 0x40;    // to a higher rank
constexpr std::uint8_t kDownwardSlotPrefix = 0x41;  // to a lower rank

std::uint64_t transfer_slot(int from, int to, std::uint32_t sequence) {
  return gloo::Slot::build(from < to ? kUpwardSlotPrefix : kDownwardSlotPrefix, sequence);
}

void require_host(const Tensor& x, const char* what) {
  if (!x.defined() || x.device() != Device::cpu) {
    throw Error(ErrorCategory::internal,
                std::string("GlooCommunicator::") + what + " needs a defined host tensor");
  }
}

std::size_t bytes_of(const Tensor& x) {
  return static_cast<std::size_t>(x.numel()) * dtype_size(x.dtype());
}

std::string transfer_text(const char* what, std::size_t bytes, const char* direction, int peer,
                          std::chrono::milliseconds timeout) {
  return std::string(what) + " of " + std::to_string(bytes) + " bytes " + direction + " rank " +
         std::to_string(peer) + " (timeout " + std::to_string(timeout.count()) + " ms)";
}

}  // namespace

void GlooCommunicator::send(const Tensor& x, int peer) {
  State& s = *state_;
  require_host(x, "send");
  check_peer(peer, s.rank, s.size, "a Gloo group");
  const std::size_t bytes = bytes_of(x);
  if (bytes == 0) return;
  const std::uint32_t sequence = s.sent[static_cast<std::size_t>(peer)]++;
  s.collective(transfer_text("send", bytes, "to", peer, s.options.timeout), [&] {
    // Gloo only reads through the buffer it is given for a send.
    auto buffer = s.context->createUnboundBuffer(const_cast<void*>(x.data<void>()), bytes);
    buffer->send(peer, transfer_slot(s.rank, peer, sequence));
    buffer->waitSend(s.options.timeout);  // throws gloo::IoException at the timeout
  });
}

void GlooCommunicator::recv(Tensor& x, int peer) {
  State& s = *state_;
  require_host(x, "recv");
  check_peer(peer, s.rank, s.size, "a Gloo group");
  const std::size_t bytes = bytes_of(x);
  if (bytes == 0) return;
  const std::uint32_t sequence = s.received[static_cast<std::size_t>(peer)]++;
  s.collective(transfer_text("recv", bytes, "from", peer, s.options.timeout), [&] {
    auto buffer = s.context->createUnboundBuffer(x.data<void>(), bytes);
    buffer->recv(peer, transfer_slot(peer, s.rank, sequence));
    buffer->waitRecv(s.options.timeout);
  });
}

std::unique_ptr<Communicator> GlooCommunicator::split(int color) {
  State& s = *state_;
  check_color(color, s.rank);
  const std::uint32_t split = s.splits++;
  // Every rank learns every rank's colour, so each knows its group's members and its place.
  std::vector<std::int32_t> colors(static_cast<std::size_t>(s.size), color);
  if (s.size > 1) {
    std::int32_t mine = color;
    s.collective("split (exchanging colours)", [&] {
      gloo::AllgatherOptions opts(s.context);
      opts.setInput(&mine, 1);
      opts.setOutput(colors.data(), colors.size());
      opts.setTag(s.tag());
      gloo::allgather(opts);
    });
  }
  if (color == no_color) return nullptr;
  int new_rank = 0;
  int new_size = 0;
  for (int r = 0; r < s.size; ++r) {
    if (colors[static_cast<std::size_t>(r)] != color) continue;
    if (r == s.rank) new_rank = new_size;
    ++new_size;
  }
  GlooOptions options = s.options;
  options.prefix += "/split" + std::to_string(split) + "/color" + std::to_string(color);
  return std::make_unique<GlooCommunicator>(s.store, new_rank, new_size, options);
}

}  // namespace tessera::runtime
