#!/usr/bin/env python3
"""Writes a random-weight Llama checkpoint in the Hugging Face layout, for benchmarks that need a
model of a real size without downloading one.

The folder holds config.json, generation_config.json, model-0000i-of-0000n.safetensors shards
and model.safetensors.index.json, all bf16; no tokenizer. The default shape is Llama-3.1-8B's
(hidden 4096, 32 layers, 32 heads over 8 kv heads, intermediate 14336, vocab 128256, rope theta
500000 with llama3 scaling). Weights are drawn on the GPU with a seeded generator: N(0, std) for
matrices, 1 for norm weights, so activations stay in a sane range through every layer.

    python3 tools/make_random_checkpoint.py --out /tmp/llama3-8b-random [--layers 32] ...
"""
import argparse
import json
import os
import sys
import time

import torch
from safetensors.torch import save_file


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write (created)")
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=8)
    p.add_argument("--intermediate", type=int, default=14336)
    p.add_argument("--vocab", type=int, default=128256)
    p.add_argument("--rope-theta", type=float, default=500000.0)
    p.add_argument("--max-positions", type=int, default=131072)
    p.add_argument("--std", type=float, default=0.02, help="standard deviation of matrix weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-gb", type=float, default=5.0, help="largest shard, in GB")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return p.parse_args()


def config_json(a):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009],
        "head_dim": a.hidden // a.heads,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": a.std,
        "intermediate_size": a.intermediate,
        "max_position_embeddings": a.max_positions,
        "mlp_bias": False,
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-5,
        "rope_scaling": {
            "factor": 8.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3",
        },
        "rope_theta": a.rope_theta,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": a.vocab,
    }


def tensor_shapes(a):
    """(name, shape) of every tensor, in the order HF writes them."""
    head_dim = a.hidden // a.heads
    shapes = [("model.embed_tokens.weight", (a.vocab, a.hidden))]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        shapes += [
            (p + "input_layernorm.weight", (a.hidden,)),
            (p + "self_attn.q_proj.weight", (a.heads * head_dim, a.hidden)),
            (p + "self_attn.k_proj.weight", (a.kv_heads * head_dim, a.hidden)),
            (p + "self_attn.v_proj.weight", (a.kv_heads * head_dim, a.hidden)),
            (p + "self_attn.o_proj.weight", (a.hidden, a.heads * head_dim)),
            (p + "post_attention_layernorm.weight", (a.hidden,)),
            (p + "mlp.gate_proj.weight", (a.intermediate, a.hidden)),
            (p + "mlp.up_proj.weight", (a.intermediate, a.hidden)),
            (p + "mlp.down_proj.weight", (a.hidden, a.intermediate)),
        ]
    shapes += [("model.norm.weight", (a.hidden,)), ("lm_head.weight", (a.vocab, a.hidden))]
    return shapes


def plan_shards(shapes, shard_bytes):
    """Consecutive groups of tensors of at most shard_bytes each (a larger tensor alone)."""
    shards, current, size = [], [], 0
    for name, shape in shapes:
        n = 2 * torch.Size(shape).numel()
        if current and size + n > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += n
    if current:
        shards.append(current)
    return shards


def main():
    a = parse_args()
    if a.hidden % a.heads or a.heads % a.kv_heads:
        sys.exit("hidden must divide by heads, and heads by kv heads")
    os.makedirs(a.out, exist_ok=True)
    generator = torch.Generator(device=a.device).manual_seed(a.seed)
    shapes = tensor_shapes(a)
    shards = plan_shards(shapes, int(a.shard_gb * 1e9))
    total_bytes = sum(2 * torch.Size(s).numel() for _, s in shapes)
    print(f"writing {len(shapes)} tensors, {total_bytes / 1e9:.2f} GB bf16, in {len(shards)} shards "
          f"to {a.out} (generated on {a.device})", flush=True)

    weight_map = {}
    start = time.time()
    written = 0
    for index, shard in enumerate(shards, 1):
        file_name = f"model-{index:05d}-of-{len(shards):05d}.safetensors"
        tensors = {}
        for name, shape in shard:
            if name.endswith("norm.weight"):
                t = torch.ones(shape, dtype=torch.bfloat16, device=a.device)
            else:
                t = torch.randn(shape, generator=generator, dtype=torch.float32, device=a.device)
                t = t.mul_(a.std).to(torch.bfloat16)
            tensors[name] = t.cpu()
            weight_map[name] = file_name
            written += 2 * t.numel()
        save_file(tensors, os.path.join(a.out, file_name), metadata={"format": "pt"})
        print(f"  {file_name}: {len(shard)} tensors, {written / 1e9:.2f} of {total_bytes / 1e9:.2f} GB "
              f"({time.time() - start:.0f} s)", flush=True)

    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total_bytes}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config_json(a), f, indent=2)
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
                   "do_sample": False}, f, indent=2)
    print(f"done in {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
