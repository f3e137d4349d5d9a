#!/usr/bin/env bash
# Compares tessera's single-threaded encode throughput with HF tokenizers' on the same text.
#   bench/run_tokenizer_bench.sh BUILD_DIR [TOKENIZERS_DIR] [CORPUS]
# Builds nothing: BUILD_DIR must hold bench/tokenizer_encode. TOKENIZERS_DIR defaults to
# BUILD_DIR/reference-tokenizers (fetched with tools/fetch_reference_tokenizers.sh when
# missing); CORPUS defaults to tests/data/tokenizer/corpus.json. Installs the pinned npm package
# of bench/package.json into a scratch folder, runs both for llama3 and qwen3 and prints one
# JSON object with both medians and their ratio (tessera / HF; above 1 means tessera is faster).
set -euo pipefail
build=${1:?usage: run_tokenizer_bench.sh BUILD_DIR [TOKENIZERS_DIR] [CORPUS]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tokenizers=${2:-$build/reference-tokenizers}
corpus=${3:-$root/tests/data/tokenizer/corpus.json}
repeat=${REPEAT:-7}
min_bytes=${MIN_BYTES:-8388608}

encode_bin=$build/bench/tokenizer_encode
[ -x "$encode_bin" ] || { echo "run_tokenizer_bench: $encode_bin not built" >&2; exit 1; }
command -v node >/dev/null || { echo "run_tokenizer_bench: node not found" >&2; exit 1; }
"$root/tools/fetch_reference_tokenizers.sh" "$tokenizers" >&2
# node runs from the scratch folder, so every path it gets must be absolute.
tokenizers=$(cd "$tokenizers" && pwd)
corpus=$(cd "$(dirname "$corpus")" && pwd)/$(basename "$corpus")

scratch=${TESSERA_BENCH_NPM_DIR:-${TMPDIR:-/tmp}/tessera-tokenizer-bench-npm}
mkdir -p "$scratch"
cp "$here/package.json" "$here/tokenizer_hf.js" "$scratch/"
if [ ! -d "$scratch/node_modules/@anush008/tokenizers" ]; then
  npm install --prefix "$scratch" --no-audit --no-fund --loglevel=error >&2
fi

results=()
for name in llama3 qwen3; do
  ours=$("$encode_bin" --model "$tokenizers/$name" --corpus "$corpus" --repeat "$repeat" --min-bytes "$min_bytes")
  theirs=$(cd "$scratch" && TOKENIZERS_PARALLELISM=false node tokenizer_hf.js --model "$tokenizers/$name" \
             --corpus "$corpus" --repeat "$repeat" --min-bytes "$min_bytes")
  results+=("{\"tokenizer\":\"$name\",\"tessera\":$ours,\"hf\":$theirs}")
done

joined=$(IFS=,; echo "[${results[*]}]")
node -e '
const rows = JSON.parse(process.argv[1]);
const out = {};
for (const r of rows) {
  out[r.tokenizer] = {
    bytes: r.tessera.bytes,
    tokens_tessera: r.tessera.tokens, tokens_hf: r.hf.tokens,
    tessera_median_mb_per_s: +r.tessera.median_mb_per_s.toFixed(2),
    hf_median_mb_per_s: +r.hf.median_mb_per_s.toFixed(2),
    ratio_tessera_over_hf: +(r.tessera.median_mb_per_s / r.hf.median_mb_per_s).toFixed(3),
    runs: r.tessera.runs,
  };
}
console.log(JSON.stringify(out));
' "$joined"
