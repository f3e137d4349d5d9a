#!/usr/bin/env python3
"""HF transformers (eager attention, bf16, one CUDA device) on the shapes bench/gpu_decode.cpp
measures, printing one JSON object of the same keys: decode tokens/s at each batch size (every
sequence prefilled with the same prompt formula, then greedy decode steps whose tokens the host
reads each step, timed after a warm-up) and the time to first token of one long prompt.

    python3 bench/hf_decode.py --model DIR [--prompt-tokens 128] [--decode-steps 64]
                               [--batches 1,16,64] [--ttft-tokens 1024] [--runs 3]
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM


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


def measure_decode(m, vocab, batch, prompt, steps, runs):
    start = time.perf_counter()
    ids, past = m.step(prompts(batch, prompt, vocab))
    prefill = time.perf_counter() - start
    for _ in range(3):
        ids, past = m.step(ids, past)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(steps):
            ids, past = m.step(ids, past)
        rates.append(batch * steps / (time.perf_counter() - start))
    rate = statistics.median(rates)
    return {"batch": batch, "prompt_tokens": prompt, "decode_steps": steps,
            "prefill_seconds": prefill, "decode_tokens_per_second": rate,
            "step_milliseconds": 1e3 * batch / rate}


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
    a = p.parse_args()

    start = time.perf_counter()
    # transformers 5 names the argument `dtype`; 4.x `torch_dtype`.
    major = int(transformers.__version__.split(".")[0])
    dtype_arg = {"dtype" if major >= 5 else "torch_dtype": torch.bfloat16}
    model = AutoModelForCausalLM.from_pretrained(a.model, attn_implementation="eager",
                                                 **dtype_arg).to("cuda").eval()
    if model.dtype != torch.bfloat16:
        raise SystemExit(f"model loaded as {model.dtype}, expected bfloat16")
    torch.cuda.synchronize()
    load_seconds = time.perf_counter() - start
    vocab = model.config.vocab_size
    m = Model(model)

    decode = [measure_decode(m, vocab, int(b), a.prompt_tokens, a.decode_steps, a.runs)
              for b in a.batches.split(",")]
    batch1 = next((row["decode_tokens_per_second"] for row in decode if row["batch"] == 1), None)
    out = {
        "bench": "hf_decode",
        "engine": "hf_transformers_eager",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "model": a.model,
        "device": torch.cuda.get_device_name(0),
        "load_seconds": load_seconds,
        "decode": decode,
        "batch1_decode_tokens_per_second": batch1,
        "ttft_prompt_tokens": a.ttft_tokens,
        "ttft_seconds": time_to_first_token(m, vocab, a.ttft_tokens, a.runs),
        "runs": a.runs,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
