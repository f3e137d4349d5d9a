"""The shapes tools/make_random_checkpoint.py can write: for each, its config.json and the (name,
shape) of every tensor in the order HF writes them. Pure Python (no torch), so the plan of a
61 GB checkpoint can be checked anywhere; tools/random_checkpoint_shapes_test.py does.

Two shapes:
- `llama3-8b`: LlamaForCausalLM, Llama-3.1-8B's dimensions (the default, unchanged from before).
- `qwen3-30b-a3b`: Qwen3MoeForCausalLM, Qwen3-30B-A3B's dimensions: 48 layers, hidden 2048,
  32 q / 4 kv heads of head_dim 128 with q/k RMSNorm, 128 experts of moe_intermediate 768 with
  top-8 routing renormalised (`norm_topk_prob`), every layer sparse (`decoder_sparse_step` 1,
  `mlp_only_layers` []), vocab 151936, rope theta 1e6, untied lm_head. Experts are stored one
  tensor each (`mlp.experts.N.gate_proj.weight` ...), as the published checkpoint and
  transformers 5.17's save_pretrained both store them; transformers fuses them when it loads.
"""

BF16_BYTES = 2

# Each shape's dimensions; a flag given on the command line replaces the entry of the same name.
SHAPES = {
    "llama3-8b": {
        "layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "head_dim": None,
        "intermediate": 14336, "vocab": 128256, "rope_theta": 500000.0, "max_positions": 131072,
        "rms_norm_eps": 1e-5,
    },
    "qwen3-30b-a3b": {
        "layers": 48, "hidden": 2048, "heads": 32, "kv_heads": 4, "head_dim": 128,
        "intermediate": 6144, "vocab": 151936, "rope_theta": 1000000.0, "max_positions": 40960,
        "rms_norm_eps": 1e-6, "experts": 128, "experts_per_token": 8, "moe_intermediate": 768,
        "mlp_only_layers": [], "decoder_sparse_step": 1,
    },
}
MOE_ONLY = ("experts", "experts_per_token", "moe_intermediate", "mlp_only_layers", "decoder_sparse_step")


class ShapeError(ValueError):
    """A dimension that does not make a valid model; the message names the flag."""


def resolve(shape, overrides):
    """The dimensions of `shape` with `overrides` (flag name -> value, None = not given) applied,
    checked. head_dim None means hidden / heads."""
    if shape not in SHAPES:
        raise ShapeError(f"--shape: unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    dims = dict(SHAPES[shape])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in dims:
            raise ShapeError(f"--{key.replace('_', '-')} does not apply to --shape {shape}")
        dims[key] = value
    positive = [k for k in ("layers", "hidden", "heads", "kv_heads", "intermediate", "vocab",
                            "max_positions", "experts", "experts_per_token", "moe_intermediate",
                            "decoder_sparse_step") if k in dims]
    for key in positive:
        if dims[key] < 1:
            raise ShapeError(f"--{key.replace('_', '-')} must be at least 1, got {dims[key]}")
    if dims["heads"] % dims["kv_heads"]:
        raise ShapeError(f"--heads ({dims['heads']}) must divide by --kv-heads ({dims['kv_heads']})")
    if dims["head_dim"] is None:
        if dims["hidden"] % dims["heads"]:
            raise ShapeError(f"--hidden ({dims['hidden']}) must divide by --heads ({dims['heads']})")
        dims["head_dim"] = dims["hidden"] // dims["heads"]
    if dims["head_dim"] < 2 or dims["head_dim"] % 2:
        raise ShapeError(f"--head-dim must be even and at least 2 (RoPE rotates pairs), got {dims['head_dim']}")
    if "experts" in dims:
        if dims["experts_per_token"] > dims["experts"]:
            raise ShapeError(f"--experts-per-token ({dims['experts_per_token']}) exceeds --experts "
                             f"({dims['experts']})")
        bad = [i for i in dims["mlp_only_layers"] if not 0 <= i < dims["layers"]]
        if bad:
            raise ShapeError(f"--mlp-only-layers {bad} outside 0..{dims['layers'] - 1}")
    return dims


def is_moe_layer(dims, layer):
    """HF Qwen3-MoE's rule: sparse unless listed in mlp_only_layers or off the sparse step."""
    return (layer not in dims["mlp_only_layers"] and dims["experts"] > 0
            and (layer + 1) % dims["decoder_sparse_step"] == 0)


def llama_config(dims, std):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009],
        "head_dim": dims["head_dim"],
        "hidden_act": "silu",
        "hidden_size": dims["hidden"],
        "initializer_range": std,
        "intermediate_size": dims["intermediate"],
        "max_position_embeddings": dims["max_positions"],
        "mlp_bias": False,
        "num_attention_heads": dims["heads"],
        "num_hidden_layers": dims["layers"],
        "num_key_value_heads": dims["kv_heads"],
        "pretraining_tp": 1,
        "rms_norm_eps": dims["rms_norm_eps"],
        "rope_scaling": {
            "factor": 8.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3",
        },
        "rope_theta": dims["rope_theta"],
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": dims["vocab"],
    }


def qwen3_moe_config(dims, std, style):
    """`style` "hub": the fields as the published Qwen/Qwen3-30B-A3B config.json spells them
    (`num_experts`, `rope_theta`, `torch_dtype`); "transformers5": as transformers 5.17's
    save_pretrained writes them (`num_local_experts`, `rope_parameters`, `dtype`), the form of
    tests/data/models/qwen3_moe. transformers reads both."""
    config = {
        "architectures": ["Qwen3MoeForCausalLM"],
        "model_type": "qwen3_moe",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "decoder_sparse_step": dims["decoder_sparse_step"],
        "head_dim": dims["head_dim"],
        "hidden_act": "silu",
        "hidden_size": dims["hidden"],
        "initializer_range": std,
        "intermediate_size": dims["intermediate"],
        "max_position_embeddings": dims["max_positions"],
        "mlp_only_layers": list(dims["mlp_only_layers"]),
        "moe_intermediate_size": dims["moe_intermediate"],
        "norm_topk_prob": True,
        "num_attention_heads": dims["heads"],
        "num_experts_per_tok": dims["experts_per_token"],
        "num_hidden_layers": dims["layers"],
        "num_key_value_heads": dims["kv_heads"],
        "output_router_logits": False,
        "rms_norm_eps": dims["rms_norm_eps"],
        "router_aux_loss_coef": 0.001,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": dims["vocab"],
    }
    if style == "hub":
        config.update({"num_experts": dims["experts"], "rope_scaling": None,
                       "rope_theta": dims["rope_theta"], "torch_dtype": "bfloat16"})
    elif style == "transformers5":
        config.update({"num_local_experts": dims["experts"], "dtype": "bfloat16",
                       "rope_parameters": {"rope_theta": dims["rope_theta"], "rope_type": "default"}})
    else:
        raise ShapeError(f"--config-style: unknown style {style!r} (hub or transformers5)")
    return dict(sorted(config.items()))


def config_json(shape, dims, std, style="hub"):
    if shape == "llama3-8b":
        return llama_config(dims, std)
    return qwen3_moe_config(dims, std, style)


def generation_config(shape):
    if shape == "llama3-8b":
        return {"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "do_sample": False}
    return {"bos_token_id": 151643, "eos_token_id": 151645, "do_sample": False}


def _attention(p, dims, qk_norm):
    h, hd = dims["hidden"], dims["head_dim"]
    shapes = [
        (p + "self_attn.q_proj.weight", (dims["heads"] * hd, h)),
        (p + "self_attn.k_proj.weight", (dims["kv_heads"] * hd, h)),
        (p + "self_attn.v_proj.weight", (dims["kv_heads"] * hd, h)),
        (p + "self_attn.o_proj.weight", (h, dims["heads"] * hd)),
    ]
    if qk_norm:
        shapes += [(p + "self_attn.q_norm.weight", (hd,)), (p + "self_attn.k_norm.weight", (hd,))]
    return shapes


def _gated_mlp(p, hidden, intermediate):
    return [
        (p + "gate_proj.weight", (intermediate, hidden)),
        (p + "up_proj.weight", (intermediate, hidden)),
        (p + "down_proj.weight", (hidden, intermediate)),
    ]


def tensor_shapes(shape, dims):
    """(name, shape) of every tensor, in the order HF writes them."""
    h = dims["hidden"]
    moe = shape == "qwen3-30b-a3b"
    shapes = [("model.embed_tokens.weight", (dims["vocab"], h))]
    for i in range(dims["layers"]):
        p = f"model.layers.{i}."
        shapes.append((p + "input_layernorm.weight", (h,)))
        shapes += _attention(p, dims, qk_norm=moe)
        shapes.append((p + "post_attention_layernorm.weight", (h,)))
        if moe and is_moe_layer(dims, i):
            shapes.append((p + "mlp.gate.weight", (dims["experts"], h)))
            for e in range(dims["experts"]):
                shapes += _gated_mlp(f"{p}mlp.experts.{e}.", h, dims["moe_intermediate"])
        else:
            shapes += _gated_mlp(p + "mlp.", h, dims["intermediate"])
    shapes += [("model.norm.weight", (h,)), ("lm_head.weight", (dims["vocab"], h))]
    return shapes


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def is_router(name):
    return name.endswith(".mlp.gate.weight")


def is_norm(name):
    return name.endswith("norm.weight")


def plan_shards(shapes, shard_bytes):
    """Consecutive groups of tensors of at most shard_bytes (bf16) each (a larger tensor alone)."""
    shards, current, size = [], [], 0
    for name, shape in shapes:
        n = BF16_BYTES * numel(shape)
        if current and size + n > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += n
    if current:
        shards.append(current)
    return shards
