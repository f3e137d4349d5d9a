#include "runtime/models/registry.hpp"

#include <array>
#include <string>

namespace tessera::runtime {

// One line per architecture file (each defines its accessor).
const Architecture& llama_architecture();    // llama_family.cpp
const Architecture& mistral_architecture();  // llama_family.cpp
const Architecture& qwen2_architecture();    // llama_family.cpp
const Architecture& qwen3_architecture();    // llama_family.cpp
const Architecture& gemma3_architecture();   // gemma3.cpp
const Architecture& mixtral_architecture();    // mixtral.cpp
const Architecture& qwen2_moe_architecture();  // qwen2_moe.cpp
const Architecture& qwen3_moe_architecture();  // qwen3_moe.cpp

namespace {

const std::array<const Architecture*, 8>& table() {
  static const std::array<const Architecture*, 8> architectures{
      &llama_architecture(),   &mistral_architecture(),   &qwen2_architecture(),
      &qwen3_architecture(),   &gemma3_architecture(),    &mixtral_architecture(),
      &qwen2_moe_architecture(), &qwen3_moe_architecture()};
  return architectures;
}

}  // namespace

std::span<const Architecture* const> registered_architectures() { return table(); }

const Architecture* find_architecture_by_class(std::string_view class_name) {
  for (const Architecture* a : table()) {
    if (a->class_name() == class_name) return a;
  }
  return nullptr;
}

const Architecture* find_architecture_by_model_type(std::string_view model_type) {
  for (const Architecture* a : table()) {
    if (a->model_type() == model_type) return a;
  }
  return nullptr;
}

std::string supported_architectures(bool model_types) {
  std::string s;
  for (const Architecture* a : table()) {
    s += (s.empty() ? "" : ", ") + std::string(model_types ? a->model_type() : a->class_name());
  }
  return s;
}

}  // namespace tessera::runtime
