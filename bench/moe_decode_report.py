#!/usr/bin/env python3
"""Combines bench/gpu_decode (tessera) and bench/hf_decode.py (HF) on one MoE checkpoint into the
one JSON object of bench/moe_decode.sh: per batch size the decode tokens/s of both, tessera / HF,
the bytes a step reads and the roofline they give (bench/moe_roofline.py), tessera's fraction of
it; the first-token times; the issue's targets. Either engine's JSON may be missing (its run
failed): the report says so and carries on with the other.

    python3 bench/moe_decode_report.py --config DIR/config.json [--tessera T.json] [--hf H.json]
                                       [--error tessera=TEXT] [--error hf=TEXT] --out OUT.json
"""
import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moe_roofline as roof  # noqa: E402

WARMUP_STEPS = 3  # gpu_decode.cpp and hf_decode.py both
BATCH1_TARGET = 0.70  # issue 18: batch-1 decode at least 70% of the roofline
BATCH64_OVER_HF_TARGET = 3.0  # issue 18: batch 64 at least 3x HF


def ratio(a, b):
    return a / b if a and b else None


def engine_rows(result):
    return {row["batch"]: row for row in (result or {}).get("decode", [])}


def row_roofline(shape, bandwidth, row, runs, distinct=None):
    """Step bytes and roofline tokens/s of one engine's decode row (its own context length)."""
    context = roof.mean_decode_context(row["prompt_tokens"], WARMUP_STEPS, runs, row["decode_steps"])
    parts = roof.step_bytes(shape, row["batch"], context, distinct)
    return parts, roof.roofline_tokens_per_second(bandwidth, row["batch"], parts["total"]), context


def combine(config, tessera, hf, errors=None, date=None):
    shape = roof.MoeShape(config)
    source = tessera if tessera else hf
    if not source:
        raise ValueError("neither a tessera nor an HF result to report")
    bandwidth = source["copy_bandwidth_gb_per_second"] * 1e9
    t_rows, h_rows = engine_rows(tessera), engine_rows(hf)
    rows = []
    for batch in sorted(set(t_rows) | set(h_rows)):
        t, h = t_rows.get(batch), h_rows.get(batch)
        row = {"batch": batch,
               "expected_distinct_experts": roof.expected_distinct_experts(shape.experts, shape.top_k, batch)}
        if t:
            parts, limit, context = row_roofline(shape, bandwidth, t, tessera["runs"])
            row.update({"tessera_tokens_per_second": t["decode_tokens_per_second"],
                        "tessera_step_milliseconds": t["step_milliseconds"],
                        "step_bytes": parts, "mean_context": context,
                        "roofline_tokens_per_second": limit,
                        "roofline_fraction": t["decode_tokens_per_second"] / limit})
        if h:
            parts, limit, context = row_roofline(shape, bandwidth, h, hf["runs"])
            row.update({"hf_tokens_per_second": h["decode_tokens_per_second"],
                        "hf_decode_steps": h["decode_steps"],
                        "hf_decode_steps_capped": h.get("decode_steps_capped", False),
                        "hf_roofline_fraction": h["decode_tokens_per_second"] / limit})
            if not t:
                row.update({"step_bytes": parts, "mean_context": context, "roofline_tokens_per_second": limit})
            measured = h.get("distinct_experts_per_moe_layer")
            if measured is not None:
                row["hf_measured_distinct_experts"] = measured
                if t:
                    parts, limit, _ = row_roofline(shape, bandwidth, t, tessera["runs"], measured)
                    row.update({"roofline_tokens_per_second_hf_routing": limit,
                                "roofline_fraction_hf_routing": t["decode_tokens_per_second"] / limit})
        row["tessera_over_hf"] = ratio(row.get("tessera_tokens_per_second"), row.get("hf_tokens_per_second"))
        rows.append(row)

    by_batch = {r["batch"]: r for r in rows}
    batch1 = by_batch.get(1, {}).get("roofline_fraction")
    batch64 = by_batch.get(64, {}).get("tessera_over_hf")
    ttft = {"prompt_tokens": source["ttft_prompt_tokens"],
            "tessera_seconds": (tessera or {}).get("ttft_seconds"),
            "hf_seconds": (hf or {}).get("ttft_seconds")}
    ttft["hf_over_tessera"] = ratio(ttft["hf_seconds"], ttft["tessera_seconds"])
    notes = [
        "roofline: copy bandwidth / bytes a decode step reads (bench/moe_roofline.py): attention, "
        "norms, routers, LM head, embedding rows, KV cache, and expected_distinct_experts experts per "
        "MoE layer = E*(1-(1-k/E)^B), exact for independent uniformly random top-k routing. Real "
        "routing selects fewer distinct experts, so this overstates the bytes: the roofline sits below the true "
        "bound and roofline_fraction flatters (it can exceed 1).",
        "roofline_fraction_hf_routing: the same with the distinct experts HF's routers selected on the "
        "same weights and prompts (hf_decode.py --count-experts; its tokens are HF's, not tessera's).",
    ]
    if tessera:
        notes.append("tessera's own decode_roofline_tokens_per_second / batch1_fraction_of_roofline "
                     "(raw, under `tessera`) are batch 1's exactly (top_k experts per mixture, no "
                     "KV cache); roofline_fraction here covers every batch size.")
    if any(r.get("hf_decode_steps_capped") for r in rows):
        notes.append("HF's timed decode steps were capped (hf_decode_steps, --seconds-per-batch) where its "
                     "MoE steps are slow; its tokens/s are medians over fewer steps there.")
    return {
        "bench": "moe_decode",
        "date": date or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": source.get("device"),
        "model": source.get("model"),
        "shape": {"architecture": (config.get("architectures") or [None])[0], "layers": shape.layers,
                  "moe_layers": shape.moe_layers, "experts": shape.experts, "experts_per_token": shape.top_k,
                  "parameters": shape.total_params(), "weight_bytes": roof.BF16 * shape.total_params()},
        "copy_bandwidth_gb_per_second": bandwidth / 1e9,
        "copy_bandwidth_from": "tessera" if tessera else "hf",
        "decode": rows,
        "ttft": ttft,
        "targets": {
            f"batch1_at_least_{BATCH1_TARGET}_of_roofline": None if batch1 is None else batch1 >= BATCH1_TARGET,
            f"batch64_at_least_{BATCH64_OVER_HF_TARGET:g}x_hf": None if batch64 is None else batch64 >= BATCH64_OVER_HF_TARGET,
        },
        "errors": errors or {},
        "notes": notes,
        "tessera": tessera,
        "hf": hf,
    }


def load_optional(path):
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        return json.load(f)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="the checkpoint's config.json")
    p.add_argument("--tessera", help="gpu_decode's JSON (missing or empty: tessera's run failed)")
    p.add_argument("--hf", help="hf_decode.py's JSON (missing or empty: HF's run failed)")
    p.add_argument("--error", action="append", default=[], metavar="ENGINE=TEXT",
                   help="why an engine's run failed, recorded under `errors`")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    errors = {}
    for item in a.error:
        engine, sep, text = item.partition("=")
        if not sep:
            p.error(f"--error: expected ENGINE=TEXT, got {item!r}")
        errors[engine] = text
    try:
        with open(a.config) as f:
            config = json.load(f)
        report = combine(config, load_optional(a.tessera), load_optional(a.hf), errors)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"moe_decode_report: {e}")
    with open(a.out, "w") as f:
        f.write(json.dumps(report, indent=2) + "\n")
    # On the terminal, the report without the engines' raw JSON (it is in the file).
    print(json.dumps({k: v for k, v in report.items() if k not in ("tessera", "hf")}, indent=2))


if __name__ == "__main__":
    main()
