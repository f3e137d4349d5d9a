// Load generator for `tessera serve`: N concurrent streaming chat clients on loopback, each
// asking for exactly --max-tokens tokens (ignore_eos), repeated --runs times. Checks that every
// request completed with every token delivered, then prints one JSON object with the medians over
// the runs: requests/s, time to first token and per-request tokens/s percentiles, overall
// tokens/s, and the server's thread count and peak RSS (from /proc/PID/status). Percentiles
// p90/p99 are always the bad tail: slow TTFTs, and for tokens/s the rate that 90% / 99% of the
// requests reached.
//
//   node bench/server_load.mjs --url http://127.0.0.1:PORT --pid PID
//       [--clients 512] [--max-tokens 32] [--runs 3] [--timeout-s 300] [--no-logprobs]
//
// Tokens are counted from the stream itself: each chunk's logprobs carry one entry per token,
// which is exact however the server groups tokens into chunks. With --no-logprobs only content
// chunks can be counted, which is exact only when the server sends one chunk per token.
// Node built-ins only.
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    pid: { type: 'string' },
    clients: { type: 'string', default: '512' },
    'max-tokens': { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
    'timeout-s': { type: 'string', default: '300' },
    'no-logprobs': { type: 'boolean', default: false },
  },
});
if (!args.url) throw new Error('--url is required');
const clients = Number(args.clients);
const maxTokens = Number(args['max-tokens']);
const runs = Number(args.runs);
const timeoutMs = Number(args['timeout-s']) * 1000;
const countByLogprobs = !args['no-logprobs'];
const serverPid = args.pid ? Number(args.pid) : null;

const url = new URL('/v1/chat/completions', args.url);
// One connection per client: the point is many concurrent streams, not connection reuse.
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

// ---------------------------------------------------------------------------------------------
// One client

// The prompts vary so that requests are not identical, but stay short so every request fits the
// model's 512 positions with room for its tokens.
const PROMPTS = ['In the beginning', 'And God said', 'Blessed are the', 'The LORD is my shepherd',
  'And it came to pass', 'Thus saith the LORD'];

function requestBody(modelId, index) {
  const body = {
    model: modelId,
    messages: [{ role: 'user', content: PROMPTS[index % PROMPTS.length] }],
    max_tokens: maxTokens,
    ignore_eos: true,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (countByLogprobs) Object.assign(body, { logprobs: true, top_logprobs: 0 });
  return JSON.stringify(body);
}

// Runs one streaming request. Resolves (never rejects) with what was seen; `error` is set when
// anything went wrong, so one failure does not hide the others.
function runClient(body, signal) {
  const record = {
    start: performance.now(), firstToken: null, lastToken: null, tokens: 0, contentChunks: 0,
    usage: null, finishReason: null, done: false, status: 0, error: null,
  };
  return new Promise((resolve) => {
    const finish = (error) => {
      if (error && !record.error) record.error = error;
      resolve(record);
    };
    const req = http.request(url, {
      method: 'POST', agent, signal,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      record.status = res.statusCode;
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (text) => {
        buffer += text;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          onEvent(record, buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('end', () => finish(record.status === 200 ? null : `status ${record.status}: ${buffer.slice(0, 200)}`));
      res.on('error', (e) => finish(e.message));
    });
    req.on('error', (e) => finish(e.message));
    req.end(body);
  });
}

function onEvent(record, event) {
  const data = event.replace(/^data: ?/, '');
  if (data === '[DONE]') {
    record.done = true;
    return;
  }
  const chunk = JSON.parse(data);
  if (chunk.usage) record.usage = chunk.usage;
  const choice = chunk.choices?.[0];
  if (!choice) return;
  const tokens = countByLogprobs ? (choice.logprobs?.content?.length ?? 0) : (choice.delta?.content ? 1 : 0);
  if (choice.delta?.content) record.contentChunks += 1;
  if (tokens > 0) {
    const now = performance.now();
    record.firstToken ??= now;
    record.lastToken = now;
    record.tokens += tokens;
  }
  if (choice.finish_reason) record.finishReason = choice.finish_reason;
}

// Why a finished request is not a complete one, or null.
function problemWith(record) {
  if (record.error) return record.error;
  if (!record.done) return 'no [DONE]';
  if (record.finishReason !== 'length') return `finish_reason ${record.finishReason}`;
  if (record.usage?.completion_tokens !== maxTokens) return `usage.completion_tokens ${record.usage?.completion_tokens}`;
  if (record.tokens !== maxTokens) return `${record.tokens} of ${maxTokens} tokens delivered`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Server process statistics

function procStatus(field) {
  if (!serverPid) return null;
  try {
    const text = fs.readFileSync(`/proc/${serverPid}/status`, 'utf8');
    const match = text.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

// Samples the server's thread count while the load runs; returns a function giving the peak.
function sampleThreads() {
  let peak = procStatus('Threads');
  const timer = setInterval(() => { peak = Math.max(peak ?? 0, procStatus('Threads') ?? 0); }, 50);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

// p90 / p99 are the tail: for latencies the slow high end; for rates (`lowerIsWorse`) the slow
// low end, i.e. the rate that 90% / 99% of requests reached.
function percentiles(values, { lowerIsWorse = false } = {}) {
  const sorted = [...values].sort((a, b) => a - b);
  const tail = (p) => percentile(sorted, lowerIsWorse ? 100 - p : p);
  return { p50: tail(50), p90: tail(90), p99: tail(99) };
}

const median = (values) => percentile([...values].sort((a, b) => a - b), 50);
const round = (x, digits = 2) => (x == null ? null : Number(x.toFixed(digits)));

// ---------------------------------------------------------------------------------------------
// A run

async function runOnce(modelId) {
  const controller = new AbortController();
  setMaxListeners(clients + 10, controller.signal);  // every client listens for the deadline
  const deadline = setTimeout(() => controller.abort(), timeoutMs);
  const peakThreads = sampleThreads();
  const start = performance.now();
  const records = await Promise.all(
    Array.from({ length: clients }, (_, i) => runClient(requestBody(modelId, i), controller.signal)));
  const wallSeconds = (performance.now() - start) / 1000;
  clearTimeout(deadline);
  const threads = peakThreads();

  const problems = records.map(problemWith).filter(Boolean);
  const ttftMs = records.filter((r) => r.firstToken != null).map((r) => r.firstToken - r.start);
  // A request's own decode rate: tokens after the first over the time they took.
  const perRequest = records.filter((r) => r.tokens > 1 && r.lastToken > r.firstToken)
    .map((r) => (r.tokens - 1) / ((r.lastToken - r.firstToken) / 1000));
  const delivered = records.reduce((sum, r) => sum + r.tokens, 0);
  return {
    complete: records.length - problems.length,
    problems: [...new Set(problems)].slice(0, 5),
    wall_s: round(wallSeconds, 3),
    requests_per_s: round(records.length / wallSeconds),
    ttft_ms: mapValues(percentiles(ttftMs), (v) => round(v, 1)),
    request_tokens_per_s: mapValues(percentiles(perRequest, { lowerIsWorse: true }), (v) => round(v, 1)),
    overall_tokens_per_s: round(delivered / wallSeconds, 1),
    tokens_delivered: delivered,
    content_chunks: records.reduce((sum, r) => sum + r.contentChunks, 0),
    server_threads_peak: threads,
  };
}

const mapValues = (object, f) => Object.fromEntries(Object.entries(object).map(([k, v]) => [k, f(v)]));

async function servedModel() {
  const response = await fetch(new URL('/v1/models', args.url), { signal: AbortSignal.timeout(10000) });
  if (!response.ok) throw new Error(`/v1/models answered ${response.status}`);
  return (await response.json()).data[0].id;
}

async function main() {
  const modelId = await servedModel();
  const perRun = [];
  for (let i = 0; i < runs; i += 1) perRun.push(await runOnce(modelId));
  const allComplete = perRun.every((r) => r.complete === clients);
  const medianOf = (pick) => round(median(perRun.map(pick)), 2);
  const result = {
    model: modelId,
    clients,
    max_tokens: maxTokens,
    runs,
    token_count_from: countByLogprobs ? 'logprobs entries' : 'content chunks',
    all_complete: allComplete,
    requests_per_s: medianOf((r) => r.requests_per_s),
    ttft_ms: { p50: medianOf((r) => r.ttft_ms.p50), p90: medianOf((r) => r.ttft_ms.p90), p99: medianOf((r) => r.ttft_ms.p99) },
    request_tokens_per_s: {
      p50: medianOf((r) => r.request_tokens_per_s.p50),
      p90: medianOf((r) => r.request_tokens_per_s.p90),
      p99: medianOf((r) => r.request_tokens_per_s.p99),
    },
    overall_tokens_per_s: medianOf((r) => r.overall_tokens_per_s),
    server_threads: Math.max(...perRun.map((r) => r.server_threads_peak ?? 0)) || null,
    server_peak_rss_mib: serverPid ? round((procStatus('VmHWM') ?? 0) / 1024, 1) : null,
    per_run: perRun,
  };
  console.log(JSON.stringify(result));
  if (!allComplete) process.exitCode = 1;
}

await main();
