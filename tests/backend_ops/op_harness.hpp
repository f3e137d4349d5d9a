#pragma once
// What the conformance tests share: the built backends, a case's inputs placed on a backend, and
// a comparison that names the worst element.
#include <memory>
#include <string>
#include <vector>

#include "runtime/backend/backend.hpp"
#include "tests/backend_ops/op_spec.hpp"

namespace tessera::backend_ops {

// "cpu" always; "cuda" when the CUDA backend is built (it may still find no device).
std::vector<std::string> built_backends();
// The named backend, or nullptr when it cannot run here (no GPU).
std::unique_ptr<runtime::Backend> make_backend(const std::string& name);

// The case's activations uploaded and its weights loaded (through a bf16 safetensors file, as
// checkpoints arrive) on `backend`.
OpTensors place(runtime::Backend& backend, const OpInputs& inputs);

std::vector<HostTensor> to_host(runtime::Backend& backend,
                                const std::vector<runtime::Tensor>& tensors);

// Adds a test failure naming `what`, the element and both values when any element is out of
// tolerance (and when shapes differ).
void expect_close(const std::string& what, const std::vector<HostTensor>& actual,
                  const std::vector<HostTensor>& expected, Tolerance tolerance);

}  // namespace tessera::backend_ops
