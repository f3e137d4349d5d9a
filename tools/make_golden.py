#!/usr/bin/env python3
"""Golden references for tessera's model tests.

Creates small random-weight Hugging Face models in the standard HF folder layout
(config.json, generation_config.json, model.safetensors or shards + index) and,
next to each, golden.json with HF transformers' greedy generations and the last
prompt position's logits, computed in float32 on CUDA with TF32 off and eager
attention.

    python3 tools/make_golden.py --out tests/data/models [--only llama2,qwen3_qknorm] [--cpu]

Each fixture is built in its own try block: one failure does not lose the
others; the exit status is non-zero if any fixture failed.
"""

import argparse
import json
import os
import random
import sys
import time
import traceback
import zlib

from router_margins import RouterGaps, is_router_weight

MARGIN_MIN = 1e-3  # absolute logit gap between the top-2 tokens on every greedy step
ROUTER_GAP_MIN = 3e-3  # MoE: least gap between the k-th and (k+1)-th router logit of any token
ROUTER_SCALE = 4.0  # MoE: router weights' std times hidden^-1/2, so that experts' scores spread
MAX_SEEDS = 10
BOS_ID = 1
EOS_ID = 2

COMMON = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=256,
    max_position_embeddings=256,
    rms_norm_eps=1e-5,
    bos_token_id=BOS_ID,
    eos_token_id=EOS_ID,
)


def fixture_specs():
    """name -> spec. Pure data (no torch) so it can be checked anywhere."""
    return {
        "llama2": dict(
            arch="llama", saved="float32",
            config=dict(COMMON, num_key_value_heads=4, tie_word_embeddings=False,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 17), max_new_tokens=16),
        "llama3_rope": dict(
            arch="llama", saved="float32",
            config=dict(COMMON, tie_word_embeddings=True,
                        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                         "original_max_position_embeddings": 32}),
            prompt_lens=(5, 40), max_new_tokens=24),
        "llama_linear_f16": dict(
            arch="llama", saved="float16",
            config=dict(COMMON, tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
                        rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}),
            prompt_lens=(5, 17), max_new_tokens=16),
        "mistral_sliding": dict(
            arch="mistral", saved="float32", min_shards=3, max_shard_size=100_000,
            config=dict(COMMON, tie_word_embeddings=False, sliding_window=8,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 20), max_new_tokens=16),
        "qwen2_bias": dict(
            arch="qwen2", saved="bfloat16",
            config=dict(COMMON, tie_word_embeddings=True, use_sliding_window=False,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 17), max_new_tokens=16),
        "qwen3_qknorm": dict(
            arch="qwen3", saved="float32",
            config=dict(COMMON, head_dim=32, tie_word_embeddings=False, use_sliding_window=False,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 17), max_new_tokens=16),
        # Gemma 3 text: 4 layers, the third global and the others sliding (window 8, its own RoPE
        # base), so the 20-token prompt exercises the window; query_pre_attn_scalar differs from
        # head_dim so the attention scale is tested; norms are 1 + weight (centred at 0 here).
        "gemma3_text": dict(
            arch="gemma3", saved="float32", norm_center=0.0,
            config=dict(COMMON, num_hidden_layers=4, head_dim=32, tie_word_embeddings=True,
                        hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=24,
                        sliding_window=8,
                        layer_types=["sliding_attention", "sliding_attention", "full_attention",
                                     "sliding_attention"],
                        rope_parameters={
                            "full_attention": {"rope_type": "linear", "rope_theta": 1000000.0,
                                               "factor": 2.0},
                            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                        final_logit_softcapping=None, attn_logit_softcapping=None),
            prompt_lens=(5, 20), max_new_tokens=16),
        # Mixture-of-Experts (issue 18): 8 experts, top-2. Mixtral renormalises the top-k
        # weights; Qwen2-MoE does not and adds a shared expert behind a sigmoid gate, with dense
        # layers where (layer + 1) % decoder_sparse_step != 0; Qwen3-MoE renormalises
        # (norm_topk_prob) and keeps the layers of mlp_only_layers dense.
        "mixtral_moe": dict(
            arch="mixtral", saved="float32", moe=dict(experts=8, top_k=2),
            config=dict(COMMON, tie_word_embeddings=False, num_local_experts=8,
                        num_experts_per_tok=2, router_jitter_noise=0.0, sliding_window=None,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 17), max_new_tokens=24),
        "qwen2_moe": dict(
            arch="qwen2_moe", saved="float32", moe=dict(experts=8, top_k=2),
            config=dict(COMMON, num_hidden_layers=4, tie_word_embeddings=False, num_experts=8,
                        num_experts_per_tok=2, moe_intermediate_size=32,
                        shared_expert_intermediate_size=64, norm_topk_prob=False,
                        decoder_sparse_step=2, mlp_only_layers=[], use_sliding_window=False,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 17), max_new_tokens=24),
        "qwen3_moe": dict(
            arch="qwen3_moe", saved="float32", moe=dict(experts=8, top_k=2),
            config=dict(COMMON, num_hidden_layers=4, head_dim=32, tie_word_embeddings=False,
                        num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
                        norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[2],
                        use_sliding_window=False,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 17), max_new_tokens=24),
        "gqa_odd_heads": dict(
            arch="llama", saved="float32",
            config=dict(COMMON, hidden_size=96, intermediate_size=192, num_attention_heads=6,
                        num_key_value_heads=2, vocab_size=240, tie_word_embeddings=False,
                        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            prompt_lens=(5, 17), max_new_tokens=16),
    }


def make_prompts(name, vocab_size, prompt_lens):
    """Deterministic prompt ids in [3, vocab) from a generator seeded by the fixture name."""
    rng = random.Random(zlib.crc32(name.encode()) ^ 0x5EED)
    return [[rng.randrange(3, vocab_size) for _ in range(n)] for n in prompt_lens]


def dir_size(path):
    total = 0
    for f in os.listdir(path):
        p = os.path.join(path, f)
        if os.path.isfile(p):
            total += os.path.getsize(p)
    return total


def clean_fixture_dir(path):
    """Remove only the files this script writes (never anything else)."""
    if not os.path.isdir(path):
        return
    for f in os.listdir(path):
        p = os.path.join(path, f)
        if os.path.isfile(p) and (f.endswith(".safetensors") or f.endswith(".safetensors.index.json")
                                  or f in ("config.json", "generation_config.json", "golden.json")):
            os.remove(p)


# ----------------------------------------------------------------------------- torch part

def setup_torch_precision(torch):
    """float32 everywhere: no TF32 in matmul or cuDNN. Uses only the legacy API (mixing the
    legacy and the new fp32_precision API makes torch >= 2.9 raise on reads)."""
    for what, fn in (
        ("matmul.allow_tf32=False", lambda: setattr(torch.backends.cuda.matmul, "allow_tf32", False)),
        ("cudnn.allow_tf32=False", lambda: setattr(torch.backends.cudnn, "allow_tf32", False)),
        ("set_float32_matmul_precision('highest')", lambda: torch.set_float32_matmul_precision("highest")),
    ):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            print(f"  warning: could not set {what}: {e!r}", flush=True)
    try:
        print(f"  tf32: matmul={torch.backends.cuda.matmul.allow_tf32} cudnn={torch.backends.cudnn.allow_tf32} "
              f"precision={torch.get_float32_matmul_precision()}", flush=True)
    except Exception as e:  # noqa: BLE001
        print(f"  (could not read tf32 flags back: {e!r})", flush=True)


def model_classes(arch):
    import transformers as T
    return {
        "llama": (T.LlamaConfig, T.LlamaForCausalLM),
        "mistral": (T.MistralConfig, T.MistralForCausalLM),
        "qwen2": (T.Qwen2Config, T.Qwen2ForCausalLM),
        "qwen3": (T.Qwen3Config, T.Qwen3ForCausalLM),
        "gemma3": (T.Gemma3TextConfig, T.Gemma3ForCausalLM),
        "mixtral": (T.MixtralConfig, T.MixtralForCausalLM),
        "qwen2_moe": (T.Qwen2MoeConfig, T.Qwen2MoeForCausalLM),
        "qwen3_moe": (T.Qwen3MoeConfig, T.Qwen3MoeForCausalLM),
    }[arch]


def reinit_(torch, model, norm_center=1.0, moe=None):
    """Weights with O(1) activations and well separated logits (HF's std 0.02 init gives
    near-flat logits). named_parameters() yields a tied tensor once (as the embedding).
    norm_center is 0 for models whose RMSNorm scales by (1 + weight), as Gemma's does. MoE
    routers get ROUTER_SCALE times the usual spread, so that expert choices are clear."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if moe and is_router_weight(name, tuple(p.shape), moe["experts"]):
                p.normal_(0.0, ROUTER_SCALE * p.shape[1] ** -0.5)
            elif "norm" in name:                     # RMSNorm weights incl. q_norm / k_norm
                p.copy_(norm_center + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.normal_(0.0, 0.1)
            elif "embed_tokens" in name:
                p.normal_(0.0, 1.0)
            elif p.dim() == 2:                        # nn.Linear weight [out, in] incl. untied lm_head
                p.normal_(0.0, p.shape[1] ** -0.5)
            elif p.dim() == 3 and moe:                # experts fused: [experts, out, in]
                p.normal_(0.0, p.shape[-1] ** -0.5)
            else:
                raise RuntimeError(f"reinit: unexpected parameter {name} {tuple(p.shape)}")


def safetensors_files(path):
    return sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))


def stored_tensor_names(path):
    """Tensor names in the safetensors headers, to see the layout HF saved."""
    import struct
    names = []
    for f in safetensors_files(path):
        with open(os.path.join(path, f), "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            names += [k for k in json.loads(fh.read(n)) if k != "__metadata__"]
    return sorted(names)


def safetensors_dtypes(path):
    """dtype strings from the safetensors headers (no torch needed)."""
    import struct
    dtypes = set()
    for f in safetensors_files(path):
        with open(os.path.join(path, f), "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            header = json.loads(fh.read(n))
        for k, v in header.items():
            if k != "__metadata__":
                dtypes.add(v["dtype"])
    return sorted(dtypes)


def save_fixture(torch, model, spec, path):
    from transformers import GenerationConfig
    saved = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[spec["saved"]]
    model = model.to(saved)
    model.generation_config = GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID)
    os.makedirs(path, exist_ok=True)
    clean_fixture_dir(path)
    shard = spec.get("max_shard_size")
    min_shards = spec.get("min_shards", 1)
    while True:
        if shard:
            model.save_pretrained(path, max_shard_size=shard)
        else:
            model.save_pretrained(path)
        n = len(safetensors_files(path))
        if n >= min_shards or shard is None or shard < 10_000:
            break
        print(f"  only {n} shard(s) at max_shard_size={shard}; retrying smaller", flush=True)
        clean_fixture_dir(path)
        shard //= 2
    if not os.path.exists(os.path.join(path, "generation_config.json")):
        GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID).save_pretrained(path)
    # config.json: make sure the recorded dtype matches what was stored
    cfg_path = os.path.join(path, "config.json")
    with open(cfg_path) as fh:
        cfg = json.load(fh)
    changed = False
    for key in ("dtype", "torch_dtype"):
        if key in cfg and cfg[key] != spec["saved"]:
            print(f"  note: config.json {key}={cfg[key]!r}, setting {spec['saved']!r}", flush=True)
            cfg[key] = spec["saved"]
            changed = True
    if "dtype" not in cfg and "torch_dtype" not in cfg:
        cfg["dtype"] = spec["saved"]
        changed = True
    if changed:
        with open(cfg_path, "w") as fh:
            json.dump(cfg, fh, indent=2, sort_keys=True)
            fh.write("\n")
    n = len(safetensors_files(path))
    if n < min_shards:
        raise RuntimeError(f"wanted >= {min_shards} shards, got {n}")
    return n


def load_f32(torch, path, device):
    from transformers import AutoModelForCausalLM
    try:
        m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        m = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager")
    m = m.float().to(device).eval()
    impl = getattr(m.config, "_attn_implementation", None)
    if impl not in (None, "eager"):
        print(f"  warning: attention implementation is {impl!r}, not eager", flush=True)
    return m


def top2_margins(torch, logits_2d):
    """logits [n, vocab] -> (margins list, argmax list)."""
    top = torch.topk(logits_2d.float(), 2, dim=-1)
    return (top.values[:, 0] - top.values[:, 1]).tolist(), top.indices[:, 0].tolist()


def run_case(torch, model, prompt_ids, max_new_tokens, device):
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask)
        last_logits = out.logits[0, -1].float()
        gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                             do_sample=False, pad_token_id=EOS_ID, eos_token_id=EOS_ID,
                             output_logits=True, return_dict_in_generate=True)
        seq = gen.sequences[0].tolist()
        if seq[:len(prompt_ids)] != list(prompt_ids):
            raise RuntimeError("generate() did not echo the prompt")
        new = seq[len(prompt_ids):]
        # margins along the greedy path, two ways: (a) the logits generate() saw (KV cache),
        # (b) one explicit forward over prompt + generated (no cache).
        margins = []
        notes = []
        step_logits = getattr(gen, "logits", None)
        if step_logits:
            lg = torch.stack([s[0] for s in step_logits])
            m, am = top2_margins(torch, lg)
            margins += m
            if am != new[:len(am)]:
                notes.append("generate logits argmax != generated ids")
        full = torch.tensor([prompt_ids + new], dtype=torch.long, device=device)
        fl = model(input_ids=full, attention_mask=torch.ones_like(full)).logits[0]
        if fl.shape[0] == full.shape[1]:
            pos = fl[len(prompt_ids) - 1: len(prompt_ids) - 1 + len(new)]
            m, am = top2_margins(torch, pos)
            margins += m
            if am != new:
                notes.append("full-forward argmax != generated ids")
        else:
            notes.append(f"full forward returned {fl.shape[0]} positions; skipped that check")
        m0, _ = top2_margins(torch, last_logits[None])
        margins += m0
    return dict(prompt_ids=list(prompt_ids), max_new_tokens=max_new_tokens, generated_ids=new,
                last_prompt_logits=[float(x) for x in last_logits.cpu().tolist()],
                min_top2_margin=float(min(margins))), notes


def build_fixture(torch, name, spec, out_dir, device):
    import transformers
    cfg_cls, model_cls = model_classes(spec["arch"])
    path = os.path.join(out_dir, name)
    prompts = make_prompts(name, spec["config"]["vocab_size"], spec["prompt_lens"])
    base_seed = zlib.crc32(name.encode()) & 0xFFFF
    last_err = None
    for attempt in range(MAX_SEEDS):
        seed = base_seed * 100 + attempt
        t0 = time.time()
        torch.manual_seed(seed)
        config = cfg_cls(**spec["config"])
        model = model_cls(config)  # on CPU, float32
        reinit_(torch, model, spec.get("norm_center", 1.0), spec.get("moe"))
        if spec["config"].get("tie_word_embeddings"):
            emb, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
            if emb.data_ptr() != head.data_ptr():
                print("  warning: lm_head not tied after init; tying by copy", flush=True)
                with torch.no_grad():
                    head.copy_(emb)
        n_params = sum(p.numel() for p in model.parameters())
        if attempt == 0:
            print(f"  config as HF reads it: {config.to_json_string(use_diff=True)}", flush=True)
            if spec.get("moe"):
                print("  parameters: " + ", ".join(f"{n} {tuple(p.shape)}" for n, p in model.named_parameters()
                                                    if ".0." in n or "layers" not in n), flush=True)
        n_shards = save_fixture(torch, model, spec, path)
        del model
        if attempt == 0 and spec.get("moe"):
            print(f"  stored tensors: {stored_tensor_names(path)[:40]}", flush=True)
        m = load_f32(torch, path, device)
        router = RouterGaps(torch, m, spec["moe"]["experts"], spec["moe"]["top_k"]) if spec.get("moe") else None
        cases, notes = [], []
        for p in prompts:
            c, nt = run_case(torch, m, p, spec["max_new_tokens"], device)
            cases.append(c)
            notes += nt
        if router:
            router.close()
            if router.smallest < ROUTER_GAP_MIN:
                notes.append(f"router top-k gap {router.smallest:.3g} < {ROUTER_GAP_MIN}")
        del m
        min_margin = min(c["min_top2_margin"] for c in cases)
        print(f"  seed {seed}: params={n_params} shards={n_shards} min_margin={min_margin:.4g} "
              f"gen_lens={[len(c['generated_ids']) for c in cases]} ({time.time() - t0:.1f}s)"
              + (f" notes={notes}" if notes else ""), flush=True)
        if min_margin >= MARGIN_MIN and not notes:
            golden = {
                "model": name,
                "seed": seed,
                "transformers_version": transformers.__version__,
                "torch_version": torch.__version__,
                "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
                "dtype_saved": spec["saved"],
                "safetensors_dtypes": safetensors_dtypes(path),
                "cases": cases,
            }
            if router:
                golden["min_router_topk_gap"] = router.smallest
            with open(os.path.join(path, "golden.json"), "w") as fh:
                json.dump(golden, fh)
                fh.write("\n")
            return dict(name=name, size=dir_size(path), margin=min_margin,
                        gen=[len(c["generated_ids"]) for c in cases], seed=seed, shards=n_shards)
        last_err = f"min margin {min_margin:.3g} < {MARGIN_MIN} or {notes}"
    clean_fixture_dir(path)
    raise RuntimeError(f"no seed out of {MAX_SEEDS} gave a clear greedy path: {last_err}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder, e.g. tests/data/models")
    ap.add_argument("--only", default="", help="comma-separated fixture names (default: all)")
    ap.add_argument("--cpu", action="store_true", help="run on CPU (for trying the script; goldens are made on CUDA)")
    ap.add_argument("--list", action="store_true", help="list the fixtures and exit")
    args = ap.parse_args(argv)

    specs = fixture_specs()
    if args.list:
        for n, s in specs.items():
            print(n, s["arch"], s["saved"], s["prompt_lens"], s["max_new_tokens"])
        return 0
    names = [n for n in args.only.split(",") if n] or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        ap.error(f"unknown fixture(s): {unknown}; known: {list(specs)}")

    import torch
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}", flush=True)
    try:
        transformers.utils.logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass
    if args.cpu:
        device = "cpu"
    elif torch.cuda.is_available():
        device = "cuda"
        print(f"device: {torch.cuda.get_device_name()}", flush=True)
    else:
        print("error: CUDA not available (use --cpu to try the script anyway)", file=sys.stderr)
        return 2
    setup_torch_precision(torch)
    os.makedirs(args.out, exist_ok=True)

    results, failed = [], []
    for name in names:
        print(f"[{name}]", flush=True)
        t0 = time.time()
        try:
            r = build_fixture(torch, name, specs[name], args.out, device)
            results.append(r)
            print(f"  ok in {time.time() - t0:.1f}s", flush=True)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            print(f"  FAILED: {e!r}", flush=True)
            failed.append(name)

    print()
    print(f"{'fixture':<20}{'bytes':>10}{'shards':>8}{'min margin':>12}  generated  seed")
    total = 0
    for r in results:
        total += r["size"]
        print(f"{r['name']:<20}{r['size']:>10}{r['shards']:>8}{r['margin']:>12.4g}  {str(r['gen']):<9}  {r['seed']}")
    for n in failed:
        print(f"{n:<20}{'FAILED':>10}")
    print(f"total {total} bytes ({total / 2**20:.2f} MiB) in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
