#!/usr/bin/env python3
"""HF transformers (eager attention, bf16, one CUDA device) on the shapes bench/gpu_decode.cpp
measures, printing one JSON object of the same keys: decode tokens/s at each batch size (every
sequence prefilled with the same prompt formula, then greedy decode steps whose tokens the host
reads each step, timed after a warm-up) and the time to first token of one long prompt.

    python3 bench/hf_decode.py --model DIR [--prompt-tokens 128] [--decode-steps 64]
                               [--batches 1,16,64] [--ttft-tokens 1024] [--runs 3]
                               [--direct-load] [--seconds-per-batch S] [--count-experts N]
                               [--experts-implementation NAME]

For large Mixture-of-Experts models (bench/moe_decode.sh): --direct-load loads the weights straight
onto the GPU (device_map) rather than through host memory; --seconds-per-batch caps the timed
steps of a batch size whose steps are slow (the steps actually timed are in each row, with
`decode_steps_capped`); --count-experts runs N more decode steps per batch size, untimed, and
records how many distinct experts the batch's tokens selected per MoE layer (the roofline's
`distinct experts`, measured on HF's own run). It also measures the device-to-device copy
bandwidth the way gpu_decode does, so a roofline can be had without tessera.
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

from expert_counter import ExpertCounter


def prompt_token(s, i, vocab):
    # The same formula as gpu_decode.cpp.
    return (i * 7919 + 3 + s * 104729) % vocab


def prompts(batch, length, vocab):
    return torch.tensor([[prompt_token(s, i, vocab) for i in range(length)] for s in range(batch)],
                        device="cuda")


class Model:
    def __init__(self, model):
        self.model = model
        self.keep_arg = None  # only the last position's logits are needed: ask for just those
        for arg in ("logits_to_keep", "num_logits_to_keep"):
            try:
                with torch.inference_mode():
                    model(input_ids=torch.zeros((1, 1), dtype=torch.long, device="cuda"), **{arg: 1})
                self.keep_arg = arg
                break
            except TypeError:
                continue

    @torch.inference_mode()
    def step(self, ids, past=None):
        kwargs = {self.keep_arg: 1} if self.keep_arg else {}
        out = self.model(input_ids=ids, past_key_values=past, use_cache=True, **kwargs)
        next_ids = out.logits[:, -1, :].argmax(-1, keepdim=True)
        next_ids.cpu()  # the host waits for the tokens, as a server does
        return next_ids, out.past_key_values


WARMUP_STEPS = 3  # as gpu_decode.cpp


def capped_steps(steps, runs, step_seconds, budget_seconds):
    """Steps per run so that `runs` runs take about budget_seconds (at least 2, at most steps)."""
    if budget_seconds is None or step_seconds <= 0:
        return steps
    return max(2, min(steps, int(budget_seconds / (runs * step_seconds))))


def measure_decode(m, vocab, batch, prompt, steps, runs, budget_seconds=None, expert_counter=None,
                   counted_steps=0):
    start = time.perf_counter()
    ids, past = m.step(prompts(batch, prompt, vocab))
    prefill = time.perf_counter() - start
    for _ in range(WARMUP_STEPS):
        start = time.perf_counter()
        ids, past = m.step(ids, past)
        last_warmup = time.perf_counter() - start
    timed_steps = capped_steps(steps, runs, last_warmup, budget_seconds)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(timed_steps):
            ids, past = m.step(ids, past)
        rates.append(batch * timed_steps / (time.perf_counter() - start))
    rate = statistics.median(rates)
    row = {"batch": batch, "prompt_tokens": prompt, "decode_steps": timed_steps,
           "decode_steps_capped": timed_steps < steps, "prefill_seconds": prefill,
           "decode_tokens_per_second": rate, "step_milliseconds": 1e3 * batch / rate}
    if expert_counter is not None and counted_steps > 0:
        expert_counter.start()
        for _ in range(counted_steps):
            ids, past = m.step(ids, past)
        row["distinct_experts_per_moe_layer"] = expert_counter.stop()
        row["distinct_experts_steps"] = counted_steps
    return row


def copy_bandwidth():
    """Bytes per second of a 1 GiB device-to-device copy, read and write counted (as gpu_decode)."""
    src = torch.ones(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    dst.copy_(src)
    seconds = []
    for _ in range(7):
        start.record()
        dst.copy_(src)
        stop.record()
        stop.synchronize()
        seconds.append(start.elapsed_time(stop) / 1e3)
    del src, dst
    torch.cuda.empty_cache()
    return 2.0 * (1 << 30) / statistics.median(seconds)


def time_to_first_token(m, vocab, tokens, runs):
    seconds = []
    for r in range(runs + 1):  # the first run warms up
        ids = prompts(1, tokens, vocab)
        torch.cuda.synchronize()
        start = time.perf_counter()
        m.step(ids)
        if r > 0:
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--decode-steps", type=int, default=64)
    p.add_argument("--batches", default="1,16,64")
    p.add_argument("--ttft-tokens", type=int, default=1024)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--direct-load", action="store_true",
                   help="load the weights straight onto the GPU (device_map='cuda')")
    p.add_argument("--seconds-per-batch", type=float, default=None,
                   help="cap each batch size's timed steps to about this many seconds in all")
    p.add_argument("--count-experts", type=int, default=0, metavar="N",
                   help="N untimed decode steps per batch size counting distinct experts (MoE)")
    p.add_argument("--experts-implementation", default=None,
                   help="transformers' experts backend for MoE models (eager, grouped_mm, ...); "
                        "default: transformers' own choice, which the JSON records")
    a = p.parse_args()
    if min(a.prompt_tokens, a.decode_steps, a.ttft_tokens, a.runs) < 1:
        p.error("--prompt-tokens, --decode-steps, --ttft-tokens and --runs must be positive")
    if a.seconds_per_batch is not None and a.seconds_per_batch <= 0:
        p.error("--seconds-per-batch must be positive")
    if a.count_experts < 0:
        p.error("--count-experts must not be negative")
    try:
        batches = [int(b) for b in a.batches.split(",")]
    except ValueError:
        p.error(f"--batches: expected comma-separated integers, got {a.batches!r}")
    if not batches or min(batches) < 1:
        p.error("--batches: every batch size must be positive")

    start = time.perf_counter()
    # transformers 5 names the argument `dtype`; 4.x `torch_dtype`.
    major = int(transformers.__version__.split(".")[0])
    load_args = {"dtype" if major >= 5 else "torch_dtype": torch.bfloat16}
    if a.direct_load:
        load_args["device_map"] = "cuda"
    if a.experts_implementation:
        load_args["experts_implementation"] = a.experts_implementation
    model = AutoModelForCausalLM.from_pretrained(a.model, attn_implementation="eager", **load_args)
    if not a.direct_load:
        model = model.to("cuda")
    model.eval()
    if model.dtype != torch.bfloat16:
        raise SystemExit(f"model loaded as {model.dtype}, expected bfloat16")
    torch.cuda.synchronize()
    load_seconds = time.perf_counter() - start
    vocab = model.config.vocab_size
    m = Model(model)
    counter = ExpertCounter(model) if a.count_experts else None
    bandwidth = copy_bandwidth()

    decode = [measure_decode(m, vocab, b, a.prompt_tokens, a.decode_steps, a.runs,
                             a.seconds_per_batch, counter, a.count_experts)
              for b in batches]
    batch1 = next((row["decode_tokens_per_second"] for row in decode if row["batch"] == 1), None)
    out = {
        "bench": "hf_decode",
        "engine": "hf_transformers_eager",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "model": a.model,
        "device": torch.cuda.get_device_name(0),
        "architecture": (model.config.architectures or [type(model).__name__])[0],
        "experts_implementation": getattr(model.config, "_experts_implementation", None),
        "load_seconds": load_seconds,
        "copy_bandwidth_gb_per_second": bandwidth / 1e9,
        "seconds_per_batch_cap": a.seconds_per_batch,
        "decode": decode,
        "batch1_decode_tokens_per_second": batch1,
        "ttft_prompt_tokens": a.ttft_tokens,
        "ttft_seconds": time_to_first_token(m, vocab, a.ttft_tokens, a.runs),
        "runs": a.runs,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
