#!/usr/bin/env python3
"""Writes a random-weight checkpoint in the Hugging Face layout, for benchmarks that need a model
of a real size without downloading one.

The folder holds config.json, generation_config.json, model-0000i-of-0000n.safetensors shards
and model.safetensors.index.json, all bf16; no tokenizer. Shapes (tools/random_checkpoint_shapes.py):

- `--shape llama3-8b` (the default): LlamaForCausalLM of Llama-3.1-8B's dimensions (hidden 4096,
  32 layers, 32 heads over 8 kv heads, intermediate 14336, vocab 128256, rope theta 500000 with
  llama3 scaling), 16 GB.
- `--shape qwen3-30b-a3b`: Qwen3MoeForCausalLM of Qwen3-30B-A3B's dimensions (48 layers, 128
  experts, top-8), 61 GB: write it to /dev/shm (tmpfs) on the GPU machine, whose disk is 64 GiB.

Weights are drawn on the GPU with a seeded generator: N(0, std) for matrices, 1 for norm weights,
so activations stay in a sane range through every layer; MoE routers are drawn `--router-scale`
times wider so the router's top-k is decided by clear margins, not near-uniform scores. Shards are
generated, written and freed one at a time: the whole model is never in memory. Progress goes to
stderr. The files are written before config.json, and model.safetensors.index.json last, so a
folder with an index is complete (bench/moe_decode.sh relies on this).

    python3 tools/make_random_checkpoint.py --out /tmp/llama3-8b-random [--layers 32] ...
    python3 tools/make_random_checkpoint.py --shape qwen3-30b-a3b --out /dev/shm/qwen3-30b-a3b [--layers 4]
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import random_checkpoint_shapes as shapes_of  # noqa: E402


SHARD_NAME = re.compile(r"model-\d{5}-of-\d{5}\.safetensors")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write (created)")
    p.add_argument("--shape", default="llama3-8b", choices=sorted(shapes_of.SHAPES),
                   help="the model to imitate (default llama3-8b); the flags below replace its dimensions")
    # Dimensions: None = the shape's own (tools/random_checkpoint_shapes.py SHAPES).
    p.add_argument("--layers", type=int)
    p.add_argument("--hidden", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--kv-heads", type=int)
    p.add_argument("--head-dim", type=int, help="default hidden / heads (Llama) or 128 (Qwen3-MoE)")
    p.add_argument("--intermediate", type=int, help="dense MLP width")
    p.add_argument("--vocab", type=int)
    p.add_argument("--rope-theta", type=float)
    p.add_argument("--max-positions", type=int)
    p.add_argument("--experts", type=int, help="MoE shapes: experts per layer")
    p.add_argument("--experts-per-token", type=int, help="MoE shapes: top-k")
    p.add_argument("--moe-intermediate", type=int, help="MoE shapes: each expert's MLP width")
    p.add_argument("--mlp-only-layers", type=int_list, help="MoE shapes: dense layers, e.g. 0,5")
    p.add_argument("--decoder-sparse-step", type=int, help="MoE shapes: every n-th layer sparse")
    p.add_argument("--config-style", default="hub", choices=["hub", "transformers5"],
                   help="MoE shapes: config.json fields as the published model spells them "
                        "(num_experts, rope_theta; default) or as transformers 5 saves them "
                        "(num_local_experts, rope_parameters)")
    p.add_argument("--std", type=float, default=0.02, help="standard deviation of matrix weights")
    p.add_argument("--router-scale", type=float, default=4.0,
                   help="MoE router weights' std as a multiple of --std (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-gb", type=float, default=5.0, help="largest shard, in GB")
    p.add_argument("--device", default=None, help="where weights are drawn (default cuda if present)")
    p.add_argument("--print-plan", action="store_true",
                   help="print the plan (total bytes, shards, config) as JSON to stdout and exit; "
                        "needs no torch")
    p.add_argument("--check", action="store_true",
                   help="exit 0 if OUT already holds this very checkpoint, complete, else 1 with the "
                        "reason; writes nothing, needs no torch")
    p.add_argument("--reuse", action="store_true",
                   help="if OUT already holds this very checkpoint, complete (same config, every "
                        "shard's tensors and length as planned), write nothing")
    a = p.parse_args(argv)
    if a.std <= 0 or a.router_scale <= 0:
        p.error("--std and --router-scale must be positive")
    if a.shard_gb <= 0:
        p.error("--shard-gb must be positive")
    try:
        a.dims = shapes_of.resolve(a.shape, dimension_flags(a))
    except shapes_of.ShapeError as e:
        p.error(str(e))
    return a


def int_list(text):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def dimension_flags(a):
    keys = ("layers", "hidden", "heads", "kv_heads", "head_dim", "intermediate", "vocab", "rope_theta",
            "max_positions", "experts", "experts_per_token", "moe_intermediate", "mlp_only_layers",
            "decoder_sparse_step")
    return {k: getattr(a, k) for k in keys}


class Plan:
    """What will be written: tensors, shards, files."""

    def __init__(self, a):
        self.tensors = shapes_of.tensor_shapes(a.shape, a.dims)
        self.shards = shapes_of.plan_shards(self.tensors, int(a.shard_gb * 1e9))
        self.total_bytes = sum(shapes_of.BF16_BYTES * shapes_of.numel(s) for _, s in self.tensors)
        self.config = shapes_of.config_json(a.shape, a.dims, a.std, a.config_style)
        self.generation_config = shapes_of.generation_config(a.shape)
        # Beside HF's total_size, how the weights were drawn, so --check tells another seed apart.
        self.index_metadata = {"total_size": self.total_bytes, "generator": "tools/make_random_checkpoint.py",
                               "seed": a.seed, "std": a.std, "router_scale": a.router_scale}

    def file_name(self, index):
        return f"model-{index:05d}-of-{len(self.shards):05d}.safetensors"


def safetensors_header(path):
    """The JSON header of a .safetensors file and the length the file must have."""
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        if length <= 0 or length > 100_000_000:
            raise ValueError(f"{path}: not a safetensors file (header length {length})")
        header = json.loads(f.read(length))
    header.pop("__metadata__", None)
    end = max((v["data_offsets"][1] for v in header.values()), default=0)
    return header, 8 + length + end


def existing_checkpoint_problem(out, plan):
    """Why OUT is not already this plan's complete checkpoint, or None when it is."""
    def read(name):
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    try:
        index = read("model.safetensors.index.json")
        if read("config.json") != plan.config:
            return "config.json differs from the one asked for"
        for i, shard in enumerate(plan.shards, 1):
            path = os.path.join(out, plan.file_name(i))
            header, length = safetensors_header(path)
            found = {name: (v["dtype"], tuple(v["shape"])) for name, v in header.items()}
            if found != {name: ("BF16", tuple(shape)) for name, shape in shard}:
                return f"{plan.file_name(i)} holds other tensors than planned"
            if os.path.getsize(path) != length:
                return f"{plan.file_name(i)} is {os.path.getsize(path)} bytes, not {length}"
        if index.get("metadata") != plan.index_metadata:
            return f"the index's metadata {index.get('metadata')} differs from {plan.index_metadata}"
    except (OSError, ValueError, KeyError, TypeError) as e:
        return str(e)
    return None


def log(text):
    print(text, file=sys.stderr, flush=True)


def write_json(path, value):
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
    os.replace(tmp, path)


def main(argv=None):
    a = parse_args(argv)
    plan = Plan(a)
    if a.print_plan:
        print(json.dumps({"shape": a.shape, "tensors": len(plan.tensors), "shards": len(plan.shards),
                          "total_bytes": plan.total_bytes, "config": plan.config}, indent=2))
        return
    if a.check:
        problem = existing_checkpoint_problem(a.out, plan)
        log(f"{a.out}: complete" if problem is None else f"{a.out}: not this checkpoint: {problem}")
        sys.exit(0 if problem is None else 1)
    if a.reuse:
        problem = existing_checkpoint_problem(a.out, plan)
        if problem is None:
            log(f"reusing the complete checkpoint in {a.out} ({plan.total_bytes / 1e9:.2f} GB)")
            return
        log(f"not reusing {a.out}: {problem}")
    # torch is needed only to draw and write the weights, not to plan them.
    import torch
    from safetensors.torch import save_file

    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(a.out, exist_ok=True)
    index_path = os.path.join(a.out, "model.safetensors.index.json")
    if os.path.exists(index_path):
        os.remove(index_path)  # the folder is incomplete until the index is written again
    # Shards of an earlier checkpoint here (another shard count) would only take space, which
    # /dev/shm has little of beside a 61 GB model.
    for name in os.listdir(a.out):
        if SHARD_NAME.fullmatch(name):
            os.remove(os.path.join(a.out, name))
    generator = torch.Generator(device=device).manual_seed(a.seed)
    log(f"writing {a.shape}: {len(plan.tensors)} tensors, {plan.total_bytes / 1e9:.2f} GB bf16, in "
        f"{len(plan.shards)} shards to {a.out} (generated on {device})")

    weight_map = {}
    start = time.time()
    written = 0
    for index, shard in enumerate(plan.shards, 1):
        file_name = plan.file_name(index)
        tensors = {}
        for name, shape in shard:
            if shapes_of.is_norm(name):
                t = torch.ones(shape, dtype=torch.bfloat16, device=device)
            else:
                std = a.std * (a.router_scale if shapes_of.is_router(name) else 1.0)
                t = torch.randn(shape, generator=generator, dtype=torch.float32, device=device)
                t = t.mul_(std).to(torch.bfloat16)
            tensors[name] = t.cpu()
            weight_map[name] = file_name
            written += shapes_of.BF16_BYTES * t.numel()
        save_file(tensors, os.path.join(a.out, file_name), metadata={"format": "pt"})
        del tensors
        log(f"  shard {index} of {len(plan.shards)} ({file_name}, {len(shard)} tensors): "
            f"{written / 1e9:.2f} of {plan.total_bytes / 1e9:.2f} GB, {time.time() - start:.0f} s")

    write_json(os.path.join(a.out, "config.json"), plan.config)
    write_json(os.path.join(a.out, "generation_config.json"), plan.generation_config)
    write_json(index_path, {"metadata": plan.index_metadata, "weight_map": weight_map})
    log(f"done in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
