// HF tokenizers' encode throughput on the same input as bench/tokenizer_encode.cpp.
//   node tokenizer_hf.js --model DIR --corpus FILE [--repeat N] [--min-bytes B]
// Needs @anush008/tokenizers (bench/package.json) resolvable from the working directory or
// NODE_PATH. Documents are encoded one at a time and awaited, so HF runs single-threaded.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

const DOCUMENT_BYTES = 64 * 1024;

function parseArgs(argv) {
  const args = { repeat: 7, minBytes: 8 << 20 };
  for (let i = 2; i + 1 < argv.length; i += 2) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--model': args.model = v; break;
      case '--corpus': args.corpus = v; break;
      case '--repeat': args.repeat = Math.max(1, parseInt(v, 10)); break;
      case '--min-bytes': args.minBytes = parseInt(v, 10); break;
      default: throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  if (!args.model || !args.corpus) throw new Error('usage: --model DIR --corpus FILE');
  return args;
}

// Same text and same document cuts as the C++ benchmark, computed on UTF-8 bytes.
function loadDocuments(corpus, minBytes) {
  const raw = fs.readFileSync(corpus);
  let unit = raw;
  if (raw.length && raw[0] === 0x5b /* [ */) {
    unit = Buffer.from(JSON.parse(raw.toString('utf8')).map((s) => s + '\n').join(''), 'utf8');
  }
  const parts = [];
  let size = 0;
  while (size < minBytes) { parts.push(unit); size += unit.length; }
  const text = Buffer.concat(parts);
  const docs = [];
  let bytes = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + DOCUMENT_BYTES);
    const nl = text.indexOf(0x0a, end);
    end = nl < 0 ? text.length : nl + 1;
    docs.push(text.subarray(start, end).toString('utf8'));
    bytes += end - start;
    start = end;
  }
  return { docs, bytes };
}

async function main() {
  const args = parseArgs(process.argv);
  const tokenizer = Tokenizer.fromFile(path.join(args.model, 'tokenizer.json'));
  const { docs, bytes } = loadDocuments(args.corpus, args.minBytes);
  const runOnce = async () => {
    let tokens = 0;
    for (const d of docs) tokens += (await tokenizer.encode(d, null, { addSpecialTokens: false })).getLength();
    return tokens;
  };
  let tokens = await runOnce();  // warm-up, as in the C++ benchmark
  const rates = [];
  for (let r = 0; r < args.repeat; ++r) {
    const t0 = process.hrtime.bigint();
    tokens = await runOnce();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(bytes / 1e6 / seconds);
  }
  rates.sort((a, b) => a - b);
  console.log(JSON.stringify({
    implementation: 'hf-tokenizers',
    tokenizer: path.basename(path.resolve(args.model)),
    bytes, documents: docs.length, runs: args.repeat,
    median_mb_per_s: rates[Math.floor(rates.length / 2)],
    min_mb_per_s: rates[0], max_mb_per_s: rates[rates.length - 1],
    tokens,
  }));
}

main().catch((e) => { console.error(`tokenizer_hf: ${e.message}`); process.exit(1); });
