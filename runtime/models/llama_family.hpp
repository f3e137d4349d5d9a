#pragma once
// The Llama-family layer stacks, for the architectures built on them: the mixtures of experts
// (Mixtral on Mistral's attention, Qwen2-MoE and Qwen3-MoE on Qwen2's and Qwen3's) start from
// the stack of their dense sibling and put experts in place of its MLPs.

namespace tessera::runtime {

class ConfigObject;
struct ModelConfig;

enum class LlamaVariant { llama, mistral, qwen2, qwen3 };

// Fills cfg.stack as the dense `variant` declares it: its attention (biases, q/k norms, sliding
// windows), its norms and a SiLU-gated MLP in every layer. Throws Error naming the field.
void configure_llama_stack(const ConfigObject& root, ModelConfig& cfg, LlamaVariant variant);

}  // namespace tessera::runtime
