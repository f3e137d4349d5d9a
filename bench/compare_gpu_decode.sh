#!/usr/bin/env bash
# A/B of two gpu_decode builds on one GPU and one checkpoint, alternating BASE and NEW so drift
# hits both alike. Prints one JSON object: each build's per-round figures and NEW/BASE of their
# means (decode tokens/s per batch, first-token latency, batch 1 without graphs).
#
#   bench/compare_gpu_decode.sh BASE_GPU_DECODE NEW_GPU_DECODE MODEL_DIR [ROUNDS] [gpu_decode flags]
#
# MODEL_DIR is written with tools/make_random_checkpoint.py when it has no config.json.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 BASE_GPU_DECODE NEW_GPU_DECODE MODEL_DIR [ROUNDS] [gpu_decode flags]" >&2
  exit 2
fi
base=$1 new=$2 model=$3
rounds=${4:-2}
shift $(( $# < 4 ? $# : 4 ))
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ ! -f $model/config.json ]]; then
  python3 "$root/tools/make_random_checkpoint.py" --out "$model" >&2
fi
for ((i = 1; i <= rounds; i++)); do
  echo "== round $i of $rounds" >&2
  "$base" --model "$model" "$@" > "$work/base_$i.json"
  "$new" --model "$model" "$@" > "$work/new_$i.json"
done
python3 - "$work" "$rounds" <<'PY'
import glob, json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def figures(d):
    out = {f"batch{r['batch']}_tokens_per_second": r["decode_tokens_per_second"] for r in d["decode"]}
    out["ttft_ms"] = d["ttft_seconds"] * 1e3
    out["batch1_without_graphs_tokens_per_second"] = d["batch1_decode_tokens_per_second_without_graphs"]
    return out
runs = {b: [figures(json.load(open(f"{work}/{b}_{i}.json"))) for i in range(1, rounds + 1)]
        for b in ("base", "new")}
first = json.load(open(f"{work}/new_1.json"))
ratio = {k: statistics.mean(r[k] for r in runs["new"]) / statistics.mean(r[k] for r in runs["base"])
         for k in runs["base"][0]}
print(json.dumps({"bench": "compare_gpu_decode", "device": first.get("device"),
                  "model": first.get("model"), "rounds": rounds, "base": runs["base"],
                  "new": runs["new"], "new_over_base": ratio}, indent=2))
PY
