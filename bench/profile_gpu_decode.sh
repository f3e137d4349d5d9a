#!/usr/bin/env bash
# Where a decode step's time goes, kernel by kernel (GPU machine, Nsight Compute): runs
# bench/gpu_decode at one batch size under ncu and sums one decode step by kernel
# (bench/ncu_step_breakdown.py; read its note on small kernels).
#
#   GPU_DECODE=build/bench/gpu_decode bench/profile_gpu_decode.sh MODEL_DIR BATCH > breakdown.json
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: GPU_DECODE=path/to/gpu_decode $0 MODEL_DIR BATCH" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gpu_decode=${GPU_DECODE:-$(dirname "$here")/build/bench/gpu_decode}
csv=$(mktemp)
trap 'rm -f "$csv"' EXIT
# Clocks and caches as they are (METHOD.md of the device tool asks to leave clocks alone).
ncu --clock-control none --cache-control none --csv \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    "$gpu_decode" --model "$1" --prompt-tokens 32 --decode-steps 3 --batches "$2" \
    --ttft-tokens 64 --runs 1 > "$csv"
python3 "$here/ncu_step_breakdown.py" "$csv" --step 2
