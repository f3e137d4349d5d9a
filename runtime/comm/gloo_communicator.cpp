#include "runtime/comm/gloo_communicator.hpp"

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/gather.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/hash_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "runtime/comm/gloo_communicator_state.hpp"
#include "runtime/core/error.hpp"

namespace tessera::runtime {
namespace {

using Clock = std::chrono::steady_clock;

std::string joined_key(int rank) { return "tessera_joined/" + std::to_string(rank); }

// Gloo's own rendezvous would fail with a bare "Wait timeout for key(s)"; announcing ourselves
// first and waiting for every peer under one deadline lets the error say how many never came.
void wait_for_every_rank(gloo::rendezvous::Store& store, int rank, int size,
                         std::chrono::milliseconds timeout) {
  store.set(joined_key(rank), {'1'});
  const auto deadline = Clock::now() + timeout;
  int missing = 0;
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    // Past the deadline, still look (briefly) so that the count covers every absent peer.
    if (left < std::chrono::milliseconds(1)) left = std::chrono::milliseconds(1);
    try {
      store.wait({joined_key(peer)}, left);
    } catch (const std::exception&) {
      ++missing;
    }
  }
  if (missing > 0) {
    throw Error(ErrorCategory::io,
                std::to_string(missing) + " of " + std::to_string(size) +
                    " ranks did not join the Gloo group within " +
                    std::to_string(timeout.count()) + " ms (this is " +
                    describe_gloo_rank(rank, size) + ")");
  }
}

std::string bind_address_for(const GlooOptions& options, gloo::rendezvous::Store& store) {
  if (!options.interface_address.empty()) return options.interface_address;
  if (auto* source = dynamic_cast<GlooBindAddressSource*>(&store)) return source->gloo_bind_address();
  return "127.0.0.1";  // ranks of one process, or of processes on one host
}

void require_host_f32(const Tensor& x, const char* what) {
  if (!x.defined() || x.device() != Device::cpu || x.dtype() != DType::f32) {
    throw Error(ErrorCategory::internal,
                std::string("GlooCommunicator::") + what + " needs a defined host f32 tensor");
  }
}

void sum_floats(void* out, const void* a, const void* b, std::size_t n) {
  auto* c = static_cast<float*>(out);
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  for (std::size_t i = 0; i < n; ++i) c[i] = x[i] + y[i];
}

}  // namespace

std::string describe_gloo_rank(int rank, int size) {
  return "rank " + std::to_string(rank) + " of a Gloo group of " + std::to_string(size);
}

std::shared_ptr<gloo::rendezvous::Store> make_in_process_store() {
  // HashStore guards its map with its own mutex and condition variable, so ranks on several
  // threads can share it as is.
  return std::make_shared<gloo::rendezvous::HashStore>();
}

GlooCommunicator::GlooCommunicator(std::shared_ptr<gloo::rendezvous::Store> store, int rank,
                                   int size, const GlooOptions& options)
    : state_(std::make_unique<State>()) {
  if (!store) throw Error(ErrorCategory::invalid_argument, "GlooCommunicator needs a store");
  if (size < 1 || rank < 0 || rank >= size) {
    throw Error(ErrorCategory::invalid_argument,
                "rank " + std::to_string(rank) + " is not in a group of " + std::to_string(size));
  }
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    throw Error(ErrorCategory::invalid_argument, "the Gloo timeout must be positive");
  }
  state_->rank = rank;
  state_->size = size;
  state_->sent.assign(static_cast<std::size_t>(size), 0);
  state_->received.assign(static_cast<std::size_t>(size), 0);
  const std::string address = bind_address_for(options, *store);
  state_->store = store;
  state_->options = options;
  state_->options.interface_address = address;  // a split's groups bind where this one did
  gloo::rendezvous::PrefixStore group_store(options.prefix, *store);
  wait_for_every_rank(group_store, rank, size, options.timeout);

  // The address goes into the message: a wrong one is the usual reason peers cannot connect.
  state_->collective("rendezvous (endpoints on " + address + ")", [&] {
    gloo::transport::tcp::attr attr;
    attr.hostname = address;
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
    context->setTimeout(options.timeout);
    context->connectFullMesh(group_store, device);
    state_->context = std::move(context);
  });
  // connectFullMesh can return on one rank while a peer is still completing its side; a rank
  // that then tore its context down would break that peer's connection. Return only once every
  // rank is connected.
  barrier();
}

GlooCommunicator::~GlooCommunicator() = default;

int GlooCommunicator::rank() const { return state_->rank; }

int GlooCommunicator::size() const { return state_->size; }

void GlooCommunicator::all_reduce_sum(Tensor& x) {
  require_host_f32(x, "all_reduce_sum");
  if (state_->size == 1 || x.numel() == 0) return;
  state_->collective("all_reduce_sum", [&] {
    gloo::AllreduceOptions opts(state_->context);
    opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
    opts.setOutput(x.data<float>(), static_cast<std::size_t>(x.numel()));
    opts.setReduceFunction(&sum_floats);
    opts.setTag(state_->tag());
    gloo::allreduce(opts);
  });
}

void GlooCommunicator::gather_columns(const Tensor& local, Tensor& full) {
  require_host_f32(local, "gather_columns");
  const int size = state_->size;
  const bool root = state_->rank == 0;
  const auto rows = static_cast<std::size_t>(local.rows());
  const auto cols = static_cast<std::size_t>(local.cols());
  if (root) {
    require_host_f32(full, "gather_columns");
    if (static_cast<std::size_t>(full.cols()) != cols * static_cast<std::size_t>(size) ||
        static_cast<std::size_t>(full.rows()) != rows) {
      throw Error(ErrorCategory::internal,
                  "gather_columns: rank 0's output is not [rows, cols * " +
                      std::to_string(size) + "] for a [" + std::to_string(rows) + ", " +
                      std::to_string(cols) + "] block");
    }
  }
  const std::size_t block = rows * cols;
  if (size == 1) {
    if (local.data<float>() != full.data<float>()) {
      std::memcpy(full.data<float>(), local.data<float>(), block * sizeof(float));
    }
    return;
  }
  if (block == 0) return;
  // Gloo gathers whole buffers rank after rank; rank 0 then interleaves them into columns.
  if (root) state_->gathered.resize(block * static_cast<std::size_t>(size));
  state_->collective("gather_columns", [&] {
    gloo::GatherOptions opts(state_->context);
    opts.setInput(local.data<float>(), block);
    if (root) opts.setOutput(state_->gathered.data(), state_->gathered.size());
    opts.setRoot(0);
    opts.setTag(state_->tag());
    gloo::gather(opts);
  });
  if (!root) return;
  float* out = full.data<float>();
  const std::size_t full_cols = cols * static_cast<std::size_t>(size);
  for (std::size_t r = 0; r < static_cast<std::size_t>(size); ++r) {
    const float* src = state_->gathered.data() + r * block;
    for (std::size_t row = 0; row < rows; ++row) {
      std::memcpy(out + row * full_cols + r * cols, src + row * cols, cols * sizeof(float));
    }
  }
}

void GlooCommunicator::broadcast(Tensor& x, int root) {
  require_host_f32(x, "broadcast");
  if (root < 0 || root >= state_->size) {
    throw Error(ErrorCategory::invalid_argument,
                "broadcast root " + std::to_string(root) + " is not in a group of " +
                    std::to_string(state_->size));
  }
  if (state_->size == 1 || x.numel() == 0) return;
  state_->collective("broadcast", [&] {
    gloo::BroadcastOptions opts(state_->context);
    opts.setOutput(x.data<float>(), static_cast<std::size_t>(x.numel()));
    opts.setRoot(root);
    opts.setTag(state_->tag());
    gloo::broadcast(opts);
  });
}

void GlooCommunicator::barrier() {
  if (state_->size == 1) return;
  state_->collective("barrier", [&] {
    gloo::BarrierOptions opts(state_->context);
    opts.setTag(state_->tag());
    gloo::barrier(opts);
  });
}

}  // namespace tessera::runtime
