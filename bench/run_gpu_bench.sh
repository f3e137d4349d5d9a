#!/usr/bin/env bash
# One command on the GPU machine: tessera's single-GPU decode (bench/gpu_decode) against HF
# transformers eager (bench/hf_decode.py) on the same random-weight Llama-3-8B-shaped checkpoint,
# which it writes first when MODEL_DIR has none (tools/make_random_checkpoint.py). Prints one
# combined JSON object with the ratios tessera/HF and tessera/roofline, and writes it to
# $RESULT (default gpu_bench.json).
#
#   GPU_DECODE=build/bench/gpu_decode bench/run_gpu_bench.sh MODEL_DIR [extra gpu_decode/hf flags]
#
# Shared flags (passed to both): --prompt-tokens, --decode-steps, --batches, --ttft-tokens, --runs.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: GPU_DECODE=path/to/gpu_decode $0 MODEL_DIR [--runs N ...]" >&2
  exit 2
fi
model_dir=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
gpu_decode=${GPU_DECODE:-$root/build/bench/gpu_decode}
result=${RESULT:-gpu_bench.json}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -x $gpu_decode ]]; then
  echo "gpu_decode not found at $gpu_decode (set GPU_DECODE=path)" >&2
  exit 1
fi
if [[ ! -f $model_dir/config.json ]]; then
  echo "== writing a random checkpoint to $model_dir" >&2
  python3 "$root/tools/make_random_checkpoint.py" --out "$model_dir" >&2
fi

echo "== tessera: $gpu_decode" >&2
"$gpu_decode" --model "$model_dir" "$@" > "$work/tessera.json"
cat "$work/tessera.json" >&2
echo "== HF transformers (eager)" >&2
python3 "$here/hf_decode.py" --model "$model_dir" "$@" > "$work/hf.json"
cat "$work/hf.json" >&2

python3 - "$work/tessera.json" "$work/hf.json" "$result" <<'EOF'
import datetime, json, sys

tessera = json.load(open(sys.argv[1]))
hf = json.load(open(sys.argv[2]))

def ratio(a, b):
    return a / b if a and b else None

hf_decode = {row["batch"]: row for row in hf["decode"]}
rows = []
for row in tessera["decode"]:
    other = hf_decode.get(row["batch"], {})
    rows.append({
        "batch": row["batch"],
        "tessera_tokens_per_second": row["decode_tokens_per_second"],
        "hf_tokens_per_second": other.get("decode_tokens_per_second"),
        "tessera_over_hf": ratio(row["decode_tokens_per_second"], other.get("decode_tokens_per_second")),
    })
combined = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "device": tessera["device"],
    "model": tessera["model"],
    "copy_bandwidth_gb_per_second": tessera["copy_bandwidth_gb_per_second"],
    "bf16_gemm_tflops": tessera["bf16_gemm_tflops"],
    "decode_roofline_tokens_per_second": tessera["decode_roofline_tokens_per_second"],
    "decode": rows,
    "batch1_tessera_over_roofline": tessera["batch1_fraction_of_roofline"],
    "batch1_tessera_without_graphs": tessera["batch1_decode_tokens_per_second_without_graphs"],
    "ttft_prompt_tokens": tessera["ttft_prompt_tokens"],
    "ttft_seconds": {"tessera": tessera["ttft_seconds"], "hf": hf["ttft_seconds"]},
    "ttft_hf_over_tessera": ratio(hf["ttft_seconds"], tessera["ttft_seconds"]),
    "targets": {
        "batch1_at_least_0.85_of_roofline": tessera["batch1_fraction_of_roofline"] >= 0.85,
        "batch64_at_least_8000_tokens_per_second": any(
            r["batch"] == 64 and r["tessera_tokens_per_second"] >= 8000 for r in rows),
        "ttft_1024_at_most_35_ms": tessera["ttft_prompt_tokens"] == 1024 and tessera["ttft_seconds"] <= 0.035,
    },
    "tessera": tessera,
    "hf": hf,
}
text = json.dumps(combined, indent=2)
open(sys.argv[3], "w").write(text + "\n")
print(text)
EOF
