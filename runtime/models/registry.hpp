#pragma once
// The architectures tessera runs, keyed by their HF names.
#include <span>
#include <string>
#include <string_view>

#include "runtime/models/architecture.hpp"

namespace tessera::runtime {

// Every registered architecture, in registry.cpp's order.
std::span<const Architecture* const> registered_architectures();

// The architecture answering to an `architectures` class name or a `model_type`; nullptr if none.
const Architecture* find_architecture_by_class(std::string_view class_name);
const Architecture* find_architecture_by_model_type(std::string_view model_type);

// "LlamaForCausalLM, MistralForCausalLM, ..." (or the model types), for refusals.
std::string supported_architectures(bool model_types);

}  // namespace tessera::runtime
