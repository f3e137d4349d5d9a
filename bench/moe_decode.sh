#!/usr/bin/env bash
# One command on the GPU machine for Mixture-of-Experts decode (issue 18): a random-weight
# Qwen3-30B-A3B-shaped checkpoint (61 GB bf16) written to /dev/shm, or reused there when it is
# already complete; tessera's single-GPU decode on it (bench/gpu_decode: batch 1, 16, 64 and the
# 1024-token first token); HF transformers on the same weights (bench/hf_decode.py); one JSON of
# medians, tessera / roofline of the bytes a step reads, tessera / HF (bench/moe_decode_report.py).
#
#   GPU_DECODE=build/bench/gpu_decode bench/moe_decode.sh OUT_DIR [options] [-- bench flags]
#
# Options:
#   --layers N               a shallower model (48 by default) for a quick run
#   --model-dir DIR          where the checkpoint lives (default /dev/shm/qwen3-30b-a3b-random,
#                            -lN appended with --layers N)
#   --generate-only          write (or check) the checkpoint and stop: run it beside the build
#   --skip-tessera, --skip-hf
#   --hf-seconds-per-batch S cap on HF's timed steps per batch size (default 15): its MoE steps
#                            at batch 64 can take a second each
#   --count-experts N        untimed HF steps per batch size counting distinct experts (default 4)
# Bench flags after `--` go to both engines: --prompt-tokens (128), --decode-steps (32),
# --batches (1,16,64), --ttft-tokens (1024), --runs (3).
# Environment: GPU_DECODE (default build/bench/gpu_decode), TESSERA_TIMEOUT and HF_TIMEOUT
# (seconds each engine may take, load included; default 240 and 300), DEADLINE (seconds for the
# whole command, default 540: an engine gets no more than what is left of it less 20 s for the
# report, so the report is written inside a 10-minute device call).
#
# OUT_DIR receives moe_decode.json (the report) and each step's raw JSON and log. An engine that
# fails or runs out of time is recorded under `errors` and the other is still reported.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
[[ $# -ge 1 && $1 != -* ]] || usage
out=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
layers= model_dir= generate_only=0 skip_tessera=0 skip_hf=0 hf_seconds=15 count_experts=4
while [[ $# -gt 0 ]]; do
  case $1 in
    --layers) layers=${2:?--layers needs a number}; shift 2 ;;
    --model-dir) model_dir=${2:?--model-dir needs a folder}; shift 2 ;;
    --generate-only) generate_only=1; shift ;;
    --skip-tessera) skip_tessera=1; shift ;;
    --skip-hf) skip_hf=1; shift ;;
    --hf-seconds-per-batch) hf_seconds=${2:?--hf-seconds-per-batch needs seconds}; shift 2 ;;
    --count-experts) count_experts=${2:?--count-experts needs a number}; shift 2 ;;
    --) shift; break ;;
    *) echo "moe_decode.sh: unknown option $1 (bench flags go after --)" >&2; usage ;;
  esac
done
bench_flags=(--prompt-tokens 128 --decode-steps 32 --batches 1,16,64 --ttft-tokens 1024 --runs 3 "$@")
if [[ -n $layers && ! $layers =~ ^[1-9][0-9]*$ ]]; then
  echo "moe_decode.sh: --layers must be a positive integer, got '$layers'" >&2
  exit 2
fi
model_dir=${model_dir:-/dev/shm/qwen3-30b-a3b-random${layers:+-l$layers}}
shape_flags=(--shape qwen3-30b-a3b --out "$model_dir" ${layers:+--layers "$layers"})
gpu_decode=${GPU_DECODE:-$root/build/bench/gpu_decode}
mkdir -p "$out"
rm -f "$out"/{tessera,hf}.{json,log} "$out/moe_decode.json"  # an earlier run's must not be reported
started=$SECONDS
say() { echo "== [$((SECONDS - started)) s] $*" >&2; }

# The checkpoint: reused when complete; else the space it needs is checked first, since a tmpfs
# that fills up mid-write fails late and leaves nothing useful.
say "checkpoint in $model_dir"
need=$(python3 "$root/tools/make_random_checkpoint.py" "${shape_flags[@]}" --print-plan |
       python3 -c 'import json, sys; print(json.load(sys.stdin)["total_bytes"])')
if ! python3 "$root/tools/make_random_checkpoint.py" "${shape_flags[@]}" --check; then
  mkdir -p "$model_dir"
  old=$(find "$model_dir" -maxdepth 1 -name 'model-*-of-*.safetensors' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  free=$(df -B1 --output=avail "$model_dir" | tail -1)
  if (( free + old < need + 1000000000 )); then
    echo "moe_decode.sh: $model_dir has $(( (free + old) / 1000000000 )) GB free, the checkpoint needs" \
         "$(( need / 1000000000 )) GB and 1 GB to spare. Enlarge the tmpfs (as root: mount -o" \
         "remount,size=100G /dev/shm), or pass --model-dir on a larger file system, or --layers N." >&2
    exit 1
  fi
  python3 "$root/tools/make_random_checkpoint.py" "${shape_flags[@]}"
fi
say "checkpoint ready ($(( need / 1000000000 )) GB)"
[[ $generate_only == 1 ]] && exit 0

# run NAME TIMEOUT COMMAND...: stdout to OUT/NAME.json, stderr to OUT/NAME.log (then shown); on
# failure the JSON is emptied and the reason kept for the report.
errors=()
run() {
  local name=$1 limit=$2 rc=0
  shift 2
  local left=$(( ${DEADLINE:-540} - (SECONDS - started) - 20 ))
  if (( left < 30 )); then
    errors+=(--error "$name=not run: ${left} s left of DEADLINE ${DEADLINE:-540} s")
    say "$name not run: no time left"
    return
  fi
  (( limit > left )) && limit=$left
  timeout "$limit" "$@" > "$out/$name.json" 2> "$out/$name.log" || rc=$?
  cat "$out/$name.log" >&2
  if (( rc != 0 )); then
    local why="exit $rc"
    (( rc == 124 )) && why="ran past its $limit s"
    errors+=(--error "$name=$why: $(tail -c 600 "$out/$name.log" | tr '\n' ' ')")
    : > "$out/$name.json"
    say "$name failed ($why); carrying on"
  fi
}
if [[ $skip_tessera == 0 ]]; then
  say "tessera: $gpu_decode ${bench_flags[*]}"
  if [[ -x $gpu_decode ]]; then
    run tessera "${TESSERA_TIMEOUT:-240}" "$gpu_decode" --model "$model_dir" "${bench_flags[@]}"
  else
    errors+=(--error "tessera=gpu_decode not found at $gpu_decode (set GPU_DECODE)")
  fi
fi
if [[ $skip_hf == 0 ]]; then
  say "HF transformers: hf_decode.py ${bench_flags[*]}"
  run hf "${HF_TIMEOUT:-300}" env PYTHONUNBUFFERED=1 python3 "$here/hf_decode.py" --model "$model_dir" \
    --direct-load --seconds-per-batch "$hf_seconds" --count-experts "$count_experts" "${bench_flags[@]}"
fi

say "report: $out/moe_decode.json"
python3 "$here/moe_decode_report.py" --config "$model_dir/config.json" --tessera "$out/tessera.json" \
  --hf "$out/hf.json" ${errors[@]+"${errors[@]}"} --out "$out/moe_decode.json"
say "done"
