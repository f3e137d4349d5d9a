// Soak test of `tessera serve` (issue 16): --clients concurrent clients (default 64), each looping
// for --duration seconds (default 600) over a seeded, weighted random mix of valid streamed and
// non-streamed requests, cancellations, client-side timeouts, malformed bodies and the hostile
// requests of issue 16, while the server's RSS, /health and /metrics are sampled. At the end it
// waits for the server to go idle and checks:
//   no_crash            the process is alive and /health answers {"status":"ok"};
//   valid_complete      every valid request finished (200, every token, usage, [DONE]);
//   expected_outcomes   every other request got its expected outcome (status code, framing);
//   health_during       every periodic /health during the load answered 200 within 10 s;
//   kv_blocks_returned  once idle: tessera_kv_blocks_used, running sequences, queue depth and
//                       active streams are all 0;
//   rss_flat            RSS after warm-up did not grow (see rssSummary for the rule and why).
// Prints one JSON object (per-kind outcome counts with samples of anything unexpected, latency
// percentiles of the valid requests, the RSS series, the end state) and a one-line verdict on
// stderr; exits 1 if any check fails.
//
//   node bench/soak.mjs --url http://127.0.0.1:PORT --pid PID [--clients 64] [--duration 600]
//       [--seed 1] [--cases a,b] [--exclude a,b] [--max-body-bytes N] [--list-cases]
//
// --max-body-bytes must be the server's own limit: the oversized-body case sends one byte more,
// and the deep-nesting and huge-prompt cases stay under it. bench/run_soak.sh starts the server
// and passes both. Traffic goes only to --url (loopback); every request and every loop is bounded
// in time. Node built-ins only.
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

import { parseMetrics, sleep, SseParser } from '../tests/node/harness.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    pid: { type: 'string' },
    clients: { type: 'string', default: '64' },
    duration: { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
    cases: { type: 'string' },
    exclude: { type: 'string' },
    'max-body-bytes': { type: 'string', default: String(8 << 20) },
    'idle-timeout': { type: 'string', default: '60' },
    'list-cases': { type: 'boolean', default: false },
  },
});

// A valid request may wait behind 63 others on a CPU server: generous, but bounded.
const VALID_TIMEOUT_MS = 120000;
// A request the server should refuse at once (4xx) gets far less.
const ERROR_TIMEOUT_MS = 30000;
// How long the server may take to start answering a pipelined / Expect request before we say so.
const INTERIM_WAIT_MS = 1500;

// ---------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32): the same --seed gives every client the same sequence of
// choices, so a failing mix can be replayed (timing, and so interleaving, still varies).

class Random {
  constructor(seed) { this.state = seed >>> 0; }
  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)); }  // inclusive
  pick(list) { return list[Math.floor(this.next() * list.length)]; }
  chance(p) { return this.next() < p; }
}

// ---------------------------------------------------------------------------------------------
// Stopping: at the end of the run, or at once when the server dies. Every socket opened here
// listens to this signal, so nothing outlives the run.

const stop = new AbortController();
setMaxListeners(0, stop.signal);  // every open request listens to it
const endSoon = () => stop.abort();

let target;  // { host, port, url } once parsed
let modelId;

// ---------------------------------------------------------------------------------------------
// Plain HTTP through node:http (keep-alive per client, like SDK clients).

// Resolves { status, headers, text, json, ms } or, when no response arrived, { error, ms }.
// Never rejects: an outcome is data.
function httpCall(ctx, method, path, { body, headers = {}, timeoutMs = ERROR_TIMEOUT_MS, agent = ctx.agent } = {}) {
  const payload = body === undefined ? undefined
    : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const allHeaders = { ...headers };
  if (payload !== undefined) {
    allHeaders['content-type'] ??= 'application/json';
    allHeaders['content-length'] = Buffer.byteLength(payload);
  }
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, ms: performance.now() - start });
    };
    const req = http.request(new URL(path, target.url), { method, headers: allHeaders, agent, signal: stop.signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        done({ status: res.statusCode, headers: res.headers, text, json: parseJson(text) });
      });
      res.on('error', (e) => done({ status: res.statusCode, error: `response cut: ${e.code ?? e.message}` }));
    });
    const timer = setTimeout(() => {
      done({ error: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => done({ error: e.code ?? e.message }));
    req.end(payload);
  });
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// A streamed POST read as Server-Sent Events. `cancelAfterEvents` destroys the connection after
// that many data events, `cancelAfterMs` that long after sending: a client that vanishes.
// Resolves { status, events, done, usage, finishReason, ttftMs, ms, cancelled, error }.
function streamCall(ctx, path, body, { timeoutMs = VALID_TIMEOUT_MS, cancelAfterEvents, cancelAfterMs } = {}) {
  const payload = JSON.stringify(body);
  const result = { status: 0, events: 0, done: false, usage: null, finishReason: null, ttftMs: null,
    ms: null, cancelled: false, error: null, text: '' };
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(cancelTimer);
      if (error && !result.error) result.error = error;
      result.ms = performance.now() - start;
      resolve(result);
    };
    const cancel = () => {
      result.cancelled = true;
      req.destroy();
      finish(null);
    };
    const req = http.request(new URL(path, target.url), {
      method: 'POST', agent: ctx.agent, signal: stop.signal,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      result.status = res.statusCode;
      res.setEncoding('utf8');
      const parser = new SseParser((data) => {
        if (settled) return;
        if (data === '[DONE]') {
          result.done = true;
          return;
        }
        const event = parseJson(data);
        if (!event) {
          finish(`unparseable event: ${data.slice(0, 120)}`);
          req.destroy();
          return;
        }
        if (event.error) result.error = `error event: ${JSON.stringify(event.error).slice(0, 200)}`;
        result.events += 1;
        result.ttftMs ??= performance.now() - start;
        if (event.usage) result.usage = event.usage;
        const choice = event.choices?.[0];
        if (choice?.finish_reason) result.finishReason = choice.finish_reason;
        if (cancelAfterEvents !== undefined && result.events >= cancelAfterEvents) cancel();
      });
      res.on('data', (text) => {
        if (res.statusCode === 200) parser.push(text);
        else result.text += text;
      });
      res.on('end', () => finish(null));
      res.on('error', (e) => finish(`response cut: ${e.code ?? e.message}`));
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, timeoutMs);
    const cancelTimer = cancelAfterMs === undefined ? null : setTimeout(cancel, cancelAfterMs);
    req.on('error', (e) => finish(e.code ?? e.message));
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP on a socket, for what node:http will not send or parse leniently: pipelining, stray
// bytes, HEAD followed by another request, Expect: 100-continue, HTTP/1.0, half-close, trickling.

class RawConnection {
  constructor() {
    this.socket = net.connect(target.port, target.host);
    this.buffer = Buffer.alloc(0);
    this.closed = false;
    this.error = null;
    this.wakers = [];
    this.socket.on('data', (data) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
      this.wake();
    });
    this.socket.on('error', (e) => { this.error ??= e.code ?? e.message; });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.onStop = () => this.destroy();
    stop.signal.addEventListener('abort', this.onStop);
  }

  wake() {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }

  // Resolves on the next data or close, or after `ms`.
  changed(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // Writes, resolving once the data is handed to the kernel (or the socket is gone).
  write(data) {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(data, () => resolve());
    });
  }

  halfClose() { this.socket.end(); }

  destroy() {
    stop.signal.removeEventListener('abort', this.onStop);
    this.socket.destroy();
  }

  // Waits until anything arrives (or the connection closes), at most `ms`. True if it did.
  async answered(ms) {
    const deadline = performance.now() + ms;
    while (!this.buffer.length && !this.closed && performance.now() < deadline) {
      await this.changed(deadline - performance.now());
    }
    return this.buffer.length > 0 || this.closed;
  }

  // The next whole response: { status, version, headers, body, interim } or { failure } where
  // failure says what came instead (closed, timeout, garbage). `head`: a response to HEAD, which
  // has no body whatever its Content-Length says.
  async response({ head = false, timeoutMs = VALID_TIMEOUT_MS } = {}) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const taken = takeResponse(this.buffer, { head, closed: this.closed });
      if (taken?.failure) return taken;
      if (taken) {
        this.buffer = this.buffer.subarray(taken.length);
        return taken.response;
      }
      if (this.closed) {
        return { failure: this.buffer.length ? 'closed mid-response' : 'closed without a response' };
      }
      const left = deadline - performance.now();
      if (left <= 0) return { failure: 'timeout' };
      await this.changed(left);
    }
  }
}

// Parses one response from the front of `buffer`: { response, length } when whole, null when
// more is needed, { failure } when what is there is not a response.
function takeResponse(buffer, { head, closed }) {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    // Bytes that cannot begin a status line are garbage already (a body the previous response
    // should not have had, for instance).
    if (buffer.length >= 5 && !buffer.subarray(0, 5).equals(Buffer.from('HTTP/'))) {
      return { failure: `garbage instead of a status line: ${JSON.stringify(buffer.subarray(0, 40).toString('latin1'))}` };
    }
    return null;
  }
  const [statusLine, ...lines] = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const match = statusLine.match(/^HTTP\/(1\.[01]) (\d{3})/);
  if (!match) return { failure: `garbage instead of a status line: ${JSON.stringify(statusLine.slice(0, 40))}` };
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const status = Number(match[2]);
  const response = { status, version: match[1], headers, body: Buffer.alloc(0), interim: status < 200 };
  const bodyStart = headEnd + 4;
  if (response.interim || head || status === 204 || status === 304) return { response, length: bodyStart };
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return closed ? { failure: 'closed mid-response' } : null;
      const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return { failure: 'bad chunk size line' };
      at = lineEnd + 2;
      if (size === 0) {
        // No trailers are expected: the empty line that ends the message.
        if (buffer.length < at + 2) return closed ? { failure: 'closed mid-response' } : null;
        response.body = Buffer.concat(parts);
        return { response, length: at + 2 };
      }
      if (buffer.length < at + size + 2) return closed ? { failure: 'closed mid-response' } : null;
      parts.push(buffer.subarray(at, at + size));
      at += size + 2;
    }
  }
  if (headers['content-length'] !== undefined) {
    const end = bodyStart + Number(headers['content-length']);
    if (buffer.length < end) return closed ? { failure: 'closed mid-response' } : null;
    response.body = buffer.subarray(bodyStart, end);
    return { response, length: end };
  }
  // Neither: the body runs to the end of the connection.
  if (!closed) return null;
  response.body = buffer.subarray(bodyStart);
  return { response, length: buffer.length };
}

function rawRequest(method, path, { body = '', headers = {}, version = '1.1' } = {}) {
  const lines = [`${method} ${path} HTTP/${version}`, `Host: ${target.host}:${target.port}`];
  if (body.length || method === 'POST') {
    lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  }
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const bodyJson = (response) => parseJson(response.body?.toString('utf8') ?? '');
const describe = (response) => (response.failure ?? `status ${response.status}`);

// ---------------------------------------------------------------------------------------------
// Request bodies

const PROMPTS = ['In the beginning', 'And God said', 'Blessed are the', 'The LORD is my shepherd',
  'And it came to pass', 'Thus saith the LORD', 'Let there be light', 'And Moses said'];

function validBody(ctx, endpoint, extra = {}) {
  const { rand } = ctx;
  const body = endpoint === 'chat'
    ? { model: modelId, messages: [{ role: 'user', content: rand.pick(PROMPTS) }] }
    : { model: modelId, prompt: rand.pick(PROMPTS) };
  // Greedy or sampled; sometimes with logprobs, so that both paths run under load.
  if (rand.chance(0.5)) body.temperature = 0;
  else Object.assign(body, { temperature: 0.8, top_p: 0.95 });
  if (endpoint === 'chat' && rand.chance(0.2)) Object.assign(body, { logprobs: true, top_logprobs: 2 });
  return { ...body, ...extra };
}

const ENDPOINT_PATH = { chat: '/v1/chat/completions', completion: '/v1/completions' };

// Built once: large hostile bodies, sized from the server's limit.
let HOSTILE;
function buildHostileBodies(maxBodyBytes) {
  // Nesting as deep as issue 16's crash (300,000) while staying under the body limit.
  const depth = Math.min(300000, Math.floor((maxBodyBytes - 512) / 2));
  const nested = '['.repeat(depth) + ']'.repeat(depth);
  const objectDepth = Math.min(150000, Math.floor((maxBodyBytes - 512) / 6));
  const nestedObjects = '{"a":'.repeat(objectDepth) + '1' + '}'.repeat(objectDepth);
  const message = (field) => `{"model":"${modelId}","messages":[{"role":"user","content":"x","${field}":${nested}}]}`;
  // A prompt far beyond the 512-position context but under the body limit: the server must
  // refuse it, and should not stall its I/O threads doing so.
  const promptBytes = Math.min(1536 << 10, Math.floor(maxBodyBytes * 0.75));
  const verse = 'And the LORD spake unto Moses, saying, Speak unto the children of Israel. ';
  const hugePrompt = verse.repeat(Math.ceil(promptBytes / verse.length)).slice(0, promptBytes);
  return {
    depth,
    deepBodies: [
      message('name_parts'),
      `{"model":"${modelId}","messages":[{"role":"user","content":${nested}}]}`,
      `{"model":"${modelId}","messages":[{"role":"user","content":"x"}],"metadata":${nestedObjects}}`,
      `{"model":"${modelId}","prompt":${nested}}`,
    ],
    deepNames: [`an array ${depth} deep in a message field`, `message content an array ${depth} deep`,
      `an object ${objectDepth} deep in a top-level field`, `prompt an array ${depth} deep`],
    hugePromptBody: JSON.stringify({ model: modelId, prompt: hugePrompt, max_tokens: 4 }),
    hugeChatBody: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: hugePrompt }], max_tokens: 4 }),
    oversized: Buffer.alloc(maxBodyBytes + 1, 'x'),
  };
}

// ---------------------------------------------------------------------------------------------
// The cases. Each returns { outcome, detail? }: `outcome` is a short label counted per kind and
// compared with the kind's `expect` list; `detail` goes into the samples of unexpected outcomes.
// A case with variants names the one it sends in `ctx.what`, which goes into those samples and
// into the crash report, so that a finding names its exact request.

// The checks a valid completion must pass, streamed or not; null when it is complete.
function validProblem({ finishReason, usage, maxTokens, ignoreEos }) {
  if (!['stop', 'length'].includes(finishReason)) return `finish_reason ${finishReason}`;
  if (!usage || typeof usage.completion_tokens !== 'number') return 'no usage';
  if (ignoreEos ? usage.completion_tokens !== maxTokens : usage.completion_tokens > maxTokens) {
    return 'wrong token count';
  }
  return null;
}

async function validStream(ctx, endpoint) {
  const maxTokens = ctx.rand.int(4, 32);
  const ignoreEos = ctx.rand.chance(0.8);
  const body = validBody(ctx, endpoint, {
    max_tokens: maxTokens, ignore_eos: ignoreEos, stream: true, stream_options: { include_usage: true },
  });
  const r = await streamCall(ctx, ENDPOINT_PATH[endpoint], body);
  const latency = { ms: r.ms, ttftMs: r.ttftMs };
  if (r.status !== 200) return { outcome: r.status ? `status ${r.status}` : r.error, detail: r.text.slice(0, 200) || r.error, latency };
  if (r.error) return { outcome: /error event/.test(r.error) ? 'error event' : 'connection error', detail: r.error, latency };
  if (!r.done) return { outcome: 'no [DONE]', latency };
  const problem = validProblem({ finishReason: r.finishReason, usage: r.usage, maxTokens, ignoreEos });
  if (problem) return { outcome: problem, detail: JSON.stringify({ finish: r.finishReason, usage: r.usage, maxTokens, ignoreEos }), latency };
  return { outcome: 'complete', latency };
}

async function validPlain(ctx, endpoint) {
  const maxTokens = ctx.rand.int(4, 32);
  const ignoreEos = ctx.rand.chance(0.8);
  const r = await httpCall(ctx, 'POST', ENDPOINT_PATH[endpoint], {
    body: validBody(ctx, endpoint, { max_tokens: maxTokens, ignore_eos: ignoreEos }), timeoutMs: VALID_TIMEOUT_MS,
  });
  const latency = { ms: r.ms };
  if (r.error) return { outcome: r.error === 'timeout' ? 'timeout' : 'connection error', detail: r.error, latency };
  if (r.status !== 200) return { outcome: `status ${r.status}`, detail: r.text.slice(0, 200), latency };
  const choice = r.json?.choices?.[0];
  const text = endpoint === 'chat' ? choice?.message?.content : choice?.text;
  if (typeof text !== 'string') return { outcome: 'malformed body', detail: r.text.slice(0, 200), latency };
  const problem = validProblem({ finishReason: choice.finish_reason, usage: r.json.usage, maxTokens, ignoreEos });
  return problem ? { outcome: problem, detail: r.text.slice(0, 200), latency } : { outcome: 'complete', latency };
}

// A long stream the client drops: after a few events, or before the first one arrives.
async function cancelStream(ctx) {
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  const body = validBody(ctx, endpoint, { max_tokens: 200, ignore_eos: true, stream: true });
  const when = ctx.rand.chance(0.25) ? { cancelAfterMs: ctx.rand.int(1, 300) } : { cancelAfterEvents: ctx.rand.int(1, 40) };
  const r = await streamCall(ctx, ENDPOINT_PATH[endpoint], body, when);
  if (r.cancelled) return { outcome: 'cancelled' };
  if (r.status === 200 && r.done && !r.error) return { outcome: 'complete' };
  return { outcome: r.status && r.status !== 200 ? `status ${r.status}` : (r.error ?? 'no [DONE]'), detail: r.text.slice(0, 200) || r.error };
}

// A non-streamed request whose client gives up after a random time.
async function clientTimeout(ctx) {
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  const r = await httpCall(ctx, 'POST', ENDPOINT_PATH[endpoint], {
    body: validBody(ctx, endpoint, { max_tokens: 120, ignore_eos: true }), timeoutMs: ctx.rand.int(20, 2000),
  });
  if (r.error === 'timeout') return { outcome: 'timed out' };
  if (r.status === 200) return { outcome: 'complete' };
  return { outcome: r.error ? 'connection error' : `status ${r.status}`, detail: r.error ?? r.text.slice(0, 200) };
}

// Half a body, then the client vanishes.
async function abandonBody(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8 }));
  const conn = new RawConnection();
  try {
    const full = rawRequest('POST', ENDPOINT_PATH.chat, { body });
    await conn.write(full.slice(0, full.length - ctx.rand.int(1, body.length - 1)));
    if (await conn.answered(ctx.rand.int(0, 500))) return { outcome: describe(await conn.response({ timeoutMs: 1000 })) };
    return { outcome: 'abandoned' };
  } finally {
    conn.destroy();
  }
}

// A stream whose client stops reading for a few seconds (large events: 20 logprobs a token),
// then vanishes. The server must neither block on it nor grow without bound.
async function stalledReader(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', {
    max_tokens: 300, ignore_eos: true, stream: true, logprobs: true, top_logprobs: 20,
  }));
  const conn = new RawConnection();
  try {
    await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body }));
    conn.socket.pause();
    await sleep(ctx.rand.int(1000, 5000));
    return { outcome: conn.closed ? 'dropped by server' : 'stalled' };
  } finally {
    conn.destroy();
  }
}

// An error response must carry the OpenAI error body.
function expectError(r, status, { param, code } = {}) {
  if (r.error) return { outcome: r.error === 'timeout' ? 'timeout' : 'connection error', detail: r.error };
  if (r.status !== status) return { outcome: `status ${r.status}`, detail: r.text.slice(0, 200) };
  const error = r.json?.error;
  if (!error || typeof error.message !== 'string') return { outcome: 'no error body', detail: r.text.slice(0, 200) };
  if (param && error.param !== param && !error.message.includes(param)) {
    return { outcome: `status ${status}, parameter not named`, detail: `${param}: ${r.text.slice(0, 200)}` };
  }
  if (code && error.code !== code) return { outcome: `code ${error.code}`, detail: r.text.slice(0, 200) };
  return { outcome: `status ${status}` };
}

const MALFORMED = ['{"model": ', 'not json at all', '{"messages": [}', '', '{"messages":[{"role":"user"',
  '{"a":1}{"b":2}', '{}', '[1, 2]', '"text"', '42', 'null', '{"messages":[{"role":"user","content":"x"}],}',
  Buffer.from('{"messages":[{"role":"user","content":"\xff\xfe"}]}', 'latin1'),  // invalid UTF-8
  '{"messages":[{"role":"user","content":"\\ud800"}]}'];  // a lone surrogate escape

async function malformedJson(ctx) {
  const path = ctx.rand.pick(Object.values(ENDPOINT_PATH));
  const body = ctx.rand.pick(MALFORMED);
  ctx.what = JSON.stringify(body.toString('latin1').slice(0, 60));
  return expectError(await httpCall(ctx, 'POST', path, { body }), 400);
}

function wrongTypeCases() {
  const chat = (extra) => ({ model: modelId, messages: [{ role: 'user', content: 'x' }], max_tokens: 4, ...extra });
  const completion = (extra) => ({ model: modelId, prompt: 'x', max_tokens: 4, ...extra });
  return [
    ['chat', 'messages', chat({ messages: 'hello' })],
    ['chat', 'max_tokens', chat({ max_tokens: '10' })],
    ['chat', 'max_tokens', chat({ max_tokens: -5 })],
    ['chat', 'stream', chat({ stream: 'yes' })],
    ['chat', 'temperature', chat({ temperature: [1] })],
    ['chat', 'model', chat({ model: 7 })],
    ['chat', 'messages', chat({ messages: [{ role: 'user', content: 5 }] })],
    ['chat', 'stop', chat({ stop: 5 })],
    ['chat', 'include_usage', chat({ stream: true, stream_options: { include_usage: 'yes' } })],
    ['completion', 'prompt', completion({ prompt: { text: 'x' } })],
    ['completion', 'top_p', completion({ top_p: '0.5' })],
    ['completion', 'max_tokens', completion({ max_tokens: 99999999999999999999 })],
  ];
}

async function wrongTypes(ctx) {
  const [endpoint, param, body] = ctx.rand.pick(ctx.wrongTypeCases);
  ctx.what = param;
  return expectError(await httpCall(ctx, 'POST', ENDPOINT_PATH[endpoint], { body }), 400, { param });
}

// Issue 16 item 1: a number that overflows a double, anywhere in the body.
async function numberOverflow(ctx) {
  const m = `"model":"${modelId}","messages":[{"role":"user","content":"x"}],"max_tokens":4`;
  const [what, body] = ctx.rand.pick([
    ['temperature 1e400', `{${m},"temperature":1e400}`],
    ['top_p -1e400', `{${m},"top_p":-1e400}`],
    ['1e999 in an unknown array field', `{${m},"padding":[1,2,1e999]}`],
    ['1e400 in a message field', `{"model":"${modelId}","messages":[{"role":"user","content":"x","weight":1e400}],"max_tokens":4}`],
    ['completion seed 1e400', `{"model":"${modelId}","prompt":"x","max_tokens":4,"seed":1e400}`],
  ]);
  ctx.what = what;
  const path = body.includes('"prompt"') ? ENDPOINT_PATH.completion : ENDPOINT_PATH.chat;
  return expectError(await httpCall(ctx, 'POST', path, { body }), 400);
}

// Issue 16 item 1: nesting 300,000 deep (under the body limit).
async function deepNesting(ctx) {
  const index = ctx.rand.int(0, HOSTILE.deepBodies.length - 1);
  const body = HOSTILE.deepBodies[index];
  const path = body.includes('"prompt"') ? ENDPOINT_PATH.completion : ENDPOINT_PATH.chat;
  ctx.what = HOSTILE.deepNames[index];
  return expectError(await httpCall(ctx, 'POST', path, { body }), 400);
}

// Issue 16 item 8: parameters that change the answer must be refused, naming themselves.
const UNSUPPORTED = [
  ['tools', [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]],
  ['tool_choice', 'required'],
  ['functions', [{ name: 'f', parameters: { type: 'object' } }]],
  ['response_format', { type: 'json_object' }],
  ['logit_bias', { 1: 5 }],
  ['guided_json', { type: 'object' }],
  ['guided_regex', 'a+'],
  ['guided_choice', ['a', 'b']],
  ['guided_grammar', 'root ::= "a"'],
  ['structured_outputs', { json: { type: 'object' } }],
  ['min_tokens', 4],
  ['stop_token_ids', [1]],
  ['allowed_token_ids', [1, 2]],
];

async function unsupportedParam(ctx) {
  const [param, value] = ctx.rand.pick(UNSUPPORTED);
  ctx.what = param;
  const body = { model: modelId, messages: [{ role: 'user', content: 'x' }], max_tokens: 4, [param]: value };
  return expectError(await httpCall(ctx, 'POST', ENDPOINT_PATH.chat, { body }), 400, { param });
}

// Issue 16 item 9: requests OpenAI refuses that must not be half-accepted.
async function apiContract(ctx) {
  const base = { model: modelId, messages: [{ role: 'user', content: 'x' }] };
  const [param, body] = ctx.rand.pick([
    ['stream_options', { ...base, max_tokens: 4, stream: false, stream_options: { include_usage: true } }],
    ['max_completion_tokens', { ...base, max_completion_tokens: 1000000 }],
    ['max_tokens', { ...base, max_tokens: 1000000 }],
  ]);
  ctx.what = param;
  return expectError(await httpCall(ctx, 'POST', ENDPOINT_PATH.chat, { body }), 400, { param });
}

// A body one byte over the limit: announced by Content-Length, or only counted (chunked).
// The body goes out in pieces, stopping once the server has answered: writing on after its
// answer would risk a reset that destroys the answer before it is read.
async function oversizedBody(ctx) {
  const chunked = ctx.rand.chance(0.5);
  ctx.what = chunked ? 'chunked' : 'Content-Length';
  const size = HOSTILE.oversized.length;
  const head = chunked
    ? `POST ${ENDPOINT_PATH.chat} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n`
    : `POST ${ENDPOINT_PATH.chat} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
  const conn = new RawConnection();
  try {
    await conn.write(head);
    const piece = 256 << 10;
    for (let at = 0; at < size && !(await conn.answered(at === 0 ? 500 : 20)); at += piece) {
      await conn.write(HOSTILE.oversized.subarray(at, Math.min(size, at + piece)));
    }
    if (chunked && !(await conn.answered(500))) await conn.write('\r\n0\r\n\r\n');
    const response = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    return { outcome: describe(response), detail: response.failure ? conn.error : undefined };
  } finally {
    conn.destroy();
  }
}

// A prompt thousands of times the context: refused (400), cheaply.
async function hugePrompt(ctx) {
  const chat = ctx.rand.chance(0.5);
  ctx.what = chat ? 'chat' : 'completion';
  const r = await httpCall(ctx, 'POST', chat ? ENDPOINT_PATH.chat : ENDPOINT_PATH.completion, {
    body: chat ? HOSTILE.hugeChatBody : HOSTILE.hugePromptBody,
  });
  return expectError(r, 400);
}

// Issue 16 item 2: requests pipelined on one connection are answered in order.
async function pipelined(ctx) {
  const streamFirst = ctx.rand.chance(0.5);
  ctx.what = streamFirst ? 'stream, GET /health, completion' : 'chat, GET /health, completion';
  const first = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 6, ignore_eos: true, stream: streamFirst }));
  const third = JSON.stringify(validBody(ctx, 'completion', { max_tokens: 6, ignore_eos: true }));
  const conn = new RawConnection();
  try {
    await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body: first }) + rawRequest('GET', '/health')
      + rawRequest('POST', ENDPOINT_PATH.completion, { body: third }));
    const checks = [
      (r) => (streamFirst ? r.body.toString('utf8').includes('data: [DONE]') : bodyJson(r)?.object === 'chat.completion'),
      (r) => bodyJson(r)?.status === 'ok',
      (r) => bodyJson(r)?.object === 'text_completion',
    ];
    for (let i = 0; i < checks.length; i += 1) {
      const r = await conn.response();
      if (r.failure) return { outcome: `${r.failure} (response ${i + 1} of 3)`, detail: conn.error };
      if (r.status !== 200) return { outcome: `status ${r.status} (response ${i + 1} of 3)`, detail: r.body.toString('utf8').slice(0, 200) };
      if (!checks[i](r)) return { outcome: `wrong body (response ${i + 1} of 3)`, detail: r.body.toString('utf8').slice(0, 200) };
    }
    return { outcome: 'ok' };
  } finally {
    conn.destroy();
  }
}

// Issue 16 item 2: a CRLF after a POST body (RFC 9112 §2.2) is ignored, with the bytes sent
// along with the body or while the completion runs; the connection serves the next request.
async function strayCrlf(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8, ignore_eos: true }));
  const conn = new RawConnection();
  try {
    ctx.what = ctx.rand.chance(0.5) ? 'CRLF with the body' : 'CRLF while it runs';
    if (ctx.what === 'CRLF with the body') {
      await conn.write(`${rawRequest('POST', ENDPOINT_PATH.chat, { body })}\r\n`);
    } else {
      await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body }));
      await sleep(ctx.rand.int(1, 50));
      await conn.write('\r\n');
    }
    const answer = await conn.response();
    if (answer.failure || answer.status !== 200) return { outcome: `POST: ${describe(answer)}`, detail: conn.error };
    await conn.write(rawRequest('GET', '/health'));
    const next = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    if (next.failure || next.status !== 200) return { outcome: `next request: ${describe(next)}`, detail: conn.error };
    return { outcome: 'ok' };
  } finally {
    conn.destroy();
  }
}

// Issue 16 item 3: a response to HEAD has no body, so the next response on the connection
// parses; /health accepts HEAD (elsewhere a 405 is fine, as long as it too has no body).
async function headRequest(ctx) {
  const path = ctx.rand.pick(['/health', '/v1/models', '/metrics']);
  ctx.what = `HEAD ${path}`;
  const conn = new RawConnection();
  try {
    await conn.write(rawRequest('HEAD', path));
    const head = await conn.response({ head: true, timeoutMs: ERROR_TIMEOUT_MS });
    if (head.failure || !(head.status === 200 || (head.status === 405 && path !== '/health'))) {
      return { outcome: `HEAD ${path}: ${describe(head)}` };
    }
    await conn.write(rawRequest('GET', '/health'));
    const next = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    if (next.failure) {
      return { outcome: /garbage/.test(next.failure) ? 'HEAD response carried a body' : `next request: ${next.failure}`, detail: next.failure };
    }
    return next.status === 200 ? { outcome: 'ok' } : { outcome: `next request: status ${next.status}` };
  } finally {
    conn.destroy();
  }
}

// Issue 16 item 3: a 405 names the allowed methods.
async function methodNotAllowed(ctx) {
  const [method, path] = ctx.rand.pick([['DELETE', '/health'], ['GET', ENDPOINT_PATH.chat], ['POST', '/v1/models'],
    ['PUT', ENDPOINT_PATH.completion]]);
  ctx.what = `${method} ${path}`;
  const r = await httpCall(ctx, method, path, { body: method === 'GET' ? undefined : '{}' });
  const verdict = expectError(r, 405);
  if (verdict.outcome !== 'status 405') return verdict;
  return r.headers.allow ? { outcome: 'ok' } : { outcome: 'no Allow header' };
}

// Issue 16 item 4: Expect: 100-continue gets its interim response before the body is sent.
async function expectContinue(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 6, ignore_eos: true }));
  const conn = new RawConnection();
  try {
    const request = rawRequest('POST', ENDPOINT_PATH.chat, { body, headers: { Expect: '100-continue' } });
    await conn.write(request.slice(0, request.length - body.length));
    let sawContinue = false;
    if (await conn.answered(INTERIM_WAIT_MS)) {
      const interim = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
      if (interim.failure || !interim.interim) return { outcome: `before the body: ${describe(interim)}` };
      sawContinue = interim.status === 100;
    }
    // Like curl: without the interim answer, send the body anyway after a while.
    await conn.write(body);
    const final = await conn.response();
    if (final.failure || final.status !== 200) return { outcome: `after the body: ${describe(final)}`, detail: conn.error };
    return { outcome: sawContinue ? 'ok' : 'no 100 Continue' };
  } finally {
    conn.destroy();
  }
}

// Issue 16 item 5: an HTTP/1.0 client gets a stream without chunked framing, ended by close.
async function http10Stream(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8, ignore_eos: true, stream: true }));
  const conn = new RawConnection();
  try {
    await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body, version: '1.0' }));
    const r = await conn.response();
    if (r.failure || r.status !== 200) return { outcome: describe(r), detail: conn.error };
    if (/chunked/i.test(r.headers['transfer-encoding'] ?? '')) return { outcome: 'chunked to HTTP/1.0' };
    if (!r.body.toString('utf8').includes('data: [DONE]')) return { outcome: 'no [DONE]' };
    return { outcome: 'ok' };
  } finally {
    conn.destroy();
  }
}

// Issue 16 item 6: a client that half-closes after a complete POST still gets its answer.
async function halfClose(ctx) {
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  const body = JSON.stringify(validBody(ctx, endpoint, { max_tokens: 6, ignore_eos: true }));
  const conn = new RawConnection();
  try {
    await conn.write(rawRequest('POST', ENDPOINT_PATH[endpoint], { body }));
    conn.halfClose();
    const r = await conn.response();
    if (r.failure || r.status !== 200) return { outcome: describe(r), detail: conn.error };
    return bodyJson(r)?.choices ? { outcome: 'ok' } : { outcome: 'wrong body', detail: r.body.toString('utf8').slice(0, 200) };
  } finally {
    conn.destroy();
  }
}

// Slowloris, bounded: a whole request trickled over 2-5 s (answered 200), or part of a head
// trickled for 1-4 s and then abandoned.
async function slowloris(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 4 }));
  const whole = Buffer.from(rawRequest('POST', ENDPOINT_PATH.chat, { body }));
  const abandon = ctx.rand.chance(0.3);
  ctx.what = abandon ? 'abandoned mid-head' : 'whole request trickled';
  const bytes = abandon ? whole.subarray(0, ctx.rand.int(5, whole.length - body.length - 4)) : whole;
  const pieces = Math.min(bytes.length, 60);
  const gapMs = (abandon ? ctx.rand.int(1000, 4000) : ctx.rand.int(2000, 5000)) / pieces;
  const conn = new RawConnection();
  try {
    for (let i = 0; i < pieces; i += 1) {
      if (conn.closed) break;
      await conn.write(bytes.subarray(Math.floor((i * bytes.length) / pieces), Math.floor(((i + 1) * bytes.length) / pieces)));
      await sleep(gapMs);
    }
    if (abandon) return conn.buffer.length || conn.closed ? { outcome: `answered early: ${describe(await conn.response({ timeoutMs: 1000 }))}` } : { outcome: 'abandoned' };
    const r = await conn.response();
    return r.failure || r.status !== 200 ? { outcome: describe(r), detail: conn.error } : { outcome: 'ok' };
  } finally {
    conn.destroy();
  }
}

async function unknownModel(ctx) {
  const body = { model: ctx.rand.pick(['gpt-4o', 'no-such-model', '']) || 'x'.repeat(300), messages: [{ role: 'user', content: 'x' }], max_tokens: 4 };
  return expectError(await httpCall(ctx, 'POST', ENDPOINT_PATH.chat, { body }), 404, { code: 'model_not_found' });
}

async function unknownRoute(ctx) {
  const path = ctx.rand.pick(['/v1/nothing', '/v2/chat/completions', `/${'a'.repeat(2000)}`, '/v1/chat/completions/../../etc/passwd',
    '/%00', '/v1/models/other-model']);
  const r = await httpCall(ctx, 'GET', path);
  return r.status === 404 ? { outcome: 'status 404' } : { outcome: r.error ?? `status ${r.status}`, detail: r.text?.slice(0, 200) };
}

// name → { weight, valid (counts toward valid_complete), expect (acceptable outcomes), run }.
// The weights put about half the requests into valid generation and cancellations, which is
// where KV blocks are taken and given back, and spread the rest over the hostile cases.
const KINDS = {
  stream_chat: { weight: 16, valid: true, expect: ['complete'], run: (ctx) => validStream(ctx, 'chat') },
  stream_completion: { weight: 6, valid: true, expect: ['complete'], run: (ctx) => validStream(ctx, 'completion') },
  chat: { weight: 8, valid: true, expect: ['complete'], run: (ctx) => validPlain(ctx, 'chat') },
  completion: { weight: 6, valid: true, expect: ['complete'], run: (ctx) => validPlain(ctx, 'completion') },
  cancel_stream: { weight: 10, expect: ['cancelled', 'complete'], run: cancelStream },
  client_timeout: { weight: 5, expect: ['timed out', 'complete'], run: clientTimeout },
  abandon_body: { weight: 2, expect: ['abandoned'], run: abandonBody },
  stalled_reader: { weight: 1, expect: ['stalled', 'dropped by server'], run: stalledReader },
  malformed_json: { weight: 4, expect: ['status 400'], run: malformedJson },
  wrong_types: { weight: 4, expect: ['status 400'], run: wrongTypes },
  number_overflow: { weight: 3, expect: ['status 400'], run: numberOverflow },
  deep_nesting: { weight: 2, expect: ['status 400'], run: deepNesting },
  unsupported_param: { weight: 3, expect: ['status 400'], run: unsupportedParam },
  api_contract: { weight: 2, expect: ['status 400'], run: apiContract },
  oversized_body: { weight: 2, expect: ['status 413'], run: oversizedBody },
  huge_prompt: { weight: 1, expect: ['status 400'], run: hugePrompt },
  pipelined: { weight: 3, expect: ['ok'], run: pipelined },
  stray_crlf: { weight: 3, expect: ['ok'], run: strayCrlf },
  head: { weight: 2, expect: ['ok'], run: headRequest },
  method_not_allowed: { weight: 1, expect: ['ok'], run: methodNotAllowed },
  expect_continue: { weight: 2, expect: ['ok'], run: expectContinue },
  http10_stream: { weight: 2, expect: ['ok'], run: http10Stream },
  half_close: { weight: 2, expect: ['ok'], run: halfClose },
  slowloris: { weight: 1, expect: ['ok', 'abandoned'], run: slowloris },
  unknown_model: { weight: 2, expect: ['status 404'], run: unknownModel },
  unknown_route: { weight: 1, expect: ['status 404'], run: unknownRoute },
};

// ---------------------------------------------------------------------------------------------
// Bookkeeping

const list = (text) => (text ? text.split(',').map((s) => s.trim()).filter(Boolean) : null);

function selectedKinds() {
  const only = list(args.cases);
  const without = new Set(list(args.exclude) ?? []);
  for (const name of [...(only ?? []), ...without]) {
    if (!KINDS[name]) throw new Error(`unknown case '${name}'; known: ${Object.keys(KINDS).join(', ')}`);
  }
  return Object.keys(KINDS).filter((name) => (!only || only.includes(name)) && !without.has(name));
}

const SAMPLES_PER_OUTCOME = 3;
const stats = {};  // kind → { count, outcomes, unexpected, samples, latencies, ttfts }
const clientStates = [];  // each client's { kind, what } while a request runs
const recentlyStarted = [];  // the last kinds started, for a crash report
const startedAt = performance.now();
const elapsedS = () => (performance.now() - startedAt) / 1000;

function record(kind, result, what) {
  const s = (stats[kind] ??= { count: 0, outcomes: {}, unexpected: 0, samples: {}, latencies: [], ttfts: [] });
  s.count += 1;
  s.outcomes[result.outcome] = (s.outcomes[result.outcome] ?? 0) + 1;
  if (!KINDS[kind].expect.includes(result.outcome)) {
    s.unexpected += 1;
    const samples = (s.samples[result.outcome] ??= []);
    if (samples.length < SAMPLES_PER_OUTCOME) samples.push({ at_s: round(elapsedS(), 1), what, detail: result.detail ?? null });
  }
  if (KINDS[kind].valid && result.outcome === 'complete') {
    s.latencies.push(result.latency.ms);
    if (result.latency.ttftMs != null) s.ttfts.push(result.latency.ttftMs);
  }
}

async function runClient(index, kinds, endAt) {
  const ctx = {
    rand: new Random(Number(args.seed) * 1000003 + index),
    agent: new http.Agent({ keepAlive: true, maxSockets: 2 }),
    wrongTypeCases: wrongTypeCases(),
    kind: null,
    what: null,
  };
  clientStates[index] = ctx;
  const total = kinds.reduce((sum, k) => sum + KINDS[k].weight, 0);
  const pick = () => {
    let r = ctx.rand.next() * total;
    for (const k of kinds) if ((r -= KINDS[k].weight) < 0) return k;
    return kinds.at(-1);
  };
  await sleep(index * 25);  // a ramp, not 64 connections in the same millisecond
  while (!stop.signal.aborted && performance.now() < endAt) {
    const kind = pick();
    ctx.kind = kind;
    ctx.what = null;
    recentlyStarted.push({ kind, at_s: round(elapsedS(), 2) });
    if (recentlyStarted.length > 32) recentlyStarted.shift();
    let result;
    try {
      result = await KINDS[kind].run(ctx);
    } catch (error) {
      result = { outcome: 'soak error', detail: error.stack?.slice(0, 300) ?? String(error) };
    }
    // A connection refused or reset may be the server dying: look before counting an unexpected
    // outcome (a moment later: a process that aborts closes its sockets before it is gone), so
    // that the requests a crash cut off are reported with the crash, not as outcomes of their own.
    if (!KINDS[kind].expect.includes(result.outcome)) await sleep(200);
    if (liveness() !== 'alive') noteDeath(liveness());
    if (!stop.signal.aborted) record(kind, result, ctx.what);
    ctx.kind = null;
  }
  ctx.agent.destroy();
}

// ---------------------------------------------------------------------------------------------
// The server's side: RSS, liveness, /health and /metrics

const serverPid = args.pid ? Number(args.pid) : null;

function procStatus() {
  try {
    return fs.readFileSync(`/proc/${serverPid}/status`, 'utf8');
  } catch {
    return null;
  }
}

// 'alive', or why not: the process is gone or a zombie (exited, not yet reaped by its parent).
function liveness() {
  if (!serverPid) return 'alive';
  const status = procStatus();
  if (!status) return 'process gone';
  const state = status.match(/^State:\s+(\S)/m)?.[1];
  return state === 'Z' || state === 'X' ? 'process exited (zombie)' : 'alive';
}

const rssKib = (field = 'VmRSS') => Number(procStatus()?.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1] ?? NaN);

let died = null;
function noteDeath(reason) {
  if (died) return;
  // What was in flight when it died: the request that killed it is among these.
  const inFlight = {};
  for (const c of clientStates) {
    if (!c?.kind) continue;
    const key = c.what ? `${c.kind}: ${c.what}` : c.kind;
    inFlight[key] = (inFlight[key] ?? 0) + 1;
  }
  died = { at_s: round(elapsedS(), 2), reason, in_flight: inFlight, recently_started: recentlyStarted.slice(-12) };
  process.stderr.write(`soak: the server died at ${died.at_s} s (${reason}); in flight: ${JSON.stringify(died.in_flight)}\n`);
  endSoon();
}

const monitorAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
async function monitorCall(path) {
  return httpCall({ agent: monitorAgent }, 'GET', path, { timeoutMs: 10000 });
}

async function readMetrics() {
  const r = await monitorCall('/metrics');
  if (r.status !== 200) return null;
  try {
    return parseMetrics(r.text);
  } catch {
    return null;
  }
}

// Samples RSS every second, liveness every 250 ms, /health and /metrics every 2 s, until
// `untilMs`. Health failures are counted; a dead process ends the run.
async function monitor(untilMs, series) {
  const health = { count: 0, failed: 0, failures: [], latencies: [] };
  const peaks = { kv_blocks_used: 0, running_sequences: 0, queue_depth: 0, active_streams: 0 };
  let nextRss = 0;
  let nextHealth = 0;
  let nextProgress = performance.now() + 30000;
  while (!stop.signal.aborted && performance.now() < untilMs) {
    const now = performance.now();
    const alive = liveness();
    if (alive !== 'alive') {
      noteDeath(alive);
      break;
    }
    if (now >= nextRss) {
      nextRss = now + 1000;
      const kib = rssKib();
      if (Number.isFinite(kib)) series.push([elapsedS(), kib / 1024]);
    }
    if (now >= nextHealth) {
      nextHealth = now + 2000;
      const [h, m] = await Promise.all([monitorCall('/health'), readMetrics()]);
      if (stop.signal.aborted) break;
      health.count += 1;
      if (h.status === 200 && parseJson(h.text)?.status === 'ok') {
        health.latencies.push(h.ms);
      } else {
        health.failed += 1;
        if (health.failures.length < 5) health.failures.push({ at_s: round(elapsedS(), 1), got: h.error ?? `status ${h.status}` });
        // No answer at all and no pid to look at: the server is gone.
        if (!serverPid && h.error && /ECONNREFUSED/.test(h.error)) noteDeath('connection refused');
      }
      if (m) {
        peaks.kv_blocks_used = Math.max(peaks.kv_blocks_used, m.get('tessera_kv_blocks_used') ?? 0);
        peaks.running_sequences = Math.max(peaks.running_sequences, m.get('tessera_running_sequences') ?? 0);
        peaks.queue_depth = Math.max(peaks.queue_depth, m.get('tessera_queue_depth') ?? 0);
        peaks.active_streams = Math.max(peaks.active_streams, m.get('tessera_active_streams') ?? 0);
      }
      if (performance.now() >= nextProgress) {
        nextProgress += 30000;
        const requests = Object.values(stats).reduce((sum, s) => sum + s.count, 0);
        const unexpected = Object.values(stats).reduce((sum, s) => sum + s.unexpected, 0);
        process.stderr.write(`soak: ${Math.round(elapsedS())} s, ${requests} requests, ${unexpected} unexpected, ` +
          `rss ${round(series.at(-1)?.[1], 1)} MiB, kv blocks used ${m?.get('tessera_kv_blocks_used')}, ` +
          `running ${m?.get('tessera_running_sequences')}, queued ${m?.get('tessera_queue_depth')}\n`);
      }
    }
    await sleep(250);
  }
  return { health, peaks };
}

// Waits (at most --idle-timeout s) until nothing runs, waits or streams and every KV block is
// free. Returns the last state seen and whether it was idle.
async function waitForIdle() {
  const deadline = performance.now() + Number(args['idle-timeout']) * 1000;
  const start = performance.now();
  let state = null;
  for (;;) {
    if (liveness() !== 'alive') return { idle: false, state, reason: liveness() };
    const m = await readMetrics();
    if (m) {
      state = {
        kv_blocks_used: m.get('tessera_kv_blocks_used'),
        kv_blocks_total: m.get('tessera_kv_blocks_total'),
        running_sequences: m.get('tessera_running_sequences'),
        queue_depth: m.get('tessera_queue_depth'),
        active_streams: m.get('tessera_active_streams'),
      };
      if (state.kv_blocks_used === 0 && state.running_sequences === 0 && state.queue_depth === 0 && state.active_streams === 0) {
        return { idle: true, state, waited_s: round((performance.now() - start) / 1000, 2) };
      }
    }
    if (performance.now() > deadline) return { idle: false, state, waited_s: round((performance.now() - start) / 1000, 2) };
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const round = (x, digits = 2) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));
const msSummary = (values) => ({ p50: round(percentile(values, 50), 1), p99: round(percentile(values, 99), 1), n: values.length });

// "Flat after warm-up". The first 20% of the run is warm-up: allocator arenas, the I/O threads'
// buffers and the KV pool's pages are touched then, and RSS climbs to the high-water mark of the
// mix. After it, the median of the next 20% of samples is the baseline and the median of the
// last 20% must not exceed it by more than max(10%, 16 MiB). Medians, because RSS moves with
// whatever happens to be in flight (a 1.5-MB body here, twenty streams there); the allowance,
// because glibc keeps freed memory in per-thread arenas and hands it back only sometimes, so a
// few MiB of drift is normal. A leak is linear in requests: the summary gives the smallest leak
// per request the rule would catch (allowance / requests in between), and the slope.
function rssSummary(series, requestsPerSecond) {
  if (!serverPid) return { checked: false, why: 'no --pid' };
  if (series.length < 10) return { checked: false, why: `${series.length} samples: too short a run` };
  const t0 = series[0][0];
  const span = series.at(-1)[0] - t0;
  const window = (from, to) => series.filter(([t]) => t - t0 >= from * span && t - t0 <= to * span).map(([, v]) => v);
  const baseline = percentile(window(0.2, 0.4), 50);
  const final = percentile(window(0.8, 1.0), 50);
  const allowance = Math.max(0.1 * baseline, 16);
  const growth = final - baseline;
  const after = series.filter(([t]) => t - t0 >= 0.2 * span);
  const slope = linearSlope(after);  // MiB per second
  const between = 0.5 * span * requestsPerSecond;  // requests from the baseline's middle to the end's
  return {
    checked: true,
    samples: series.length,
    warmup_s: round(0.2 * span, 1),
    first_mib: round(series[0][1], 1),
    baseline_median_mib: round(baseline, 1),
    final_median_mib: round(final, 1),
    max_mib: round(Math.max(...series.map(([, v]) => v)), 1),
    growth_mib: round(growth, 1),
    allowance_mib: round(allowance, 1),
    slope_mib_per_min_after_warmup: round(slope * 60, 2),
    detectable_leak_bytes_per_request: between > 0 ? Math.round((allowance * 1048576) / between) : null,
    hwm_mib: round(rssKib('VmHWM') / 1024, 1),
    flat: growth <= allowance,
    // At most 40 points [s, MiB], evenly spread: the shape, for the record.
    series: series.filter((_, i) => i % Math.ceil(series.length / 40) === 0).map(([t, v]) => [round(t, 0), round(v, 1)]),
  };
}

function linearSlope(points) {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : 0;
}

// ---------------------------------------------------------------------------------------------

async function servedModel() {
  const r = await httpCall({ agent: false }, 'GET', '/v1/models', { timeoutMs: 10000 });
  if (r.status !== 200) throw new Error(`/v1/models answered ${r.status ?? r.error}: ${r.text}`);
  return r.json.data[0].id;
}

function requestsByFinishReason(m) {
  return Object.fromEntries([...(m ?? [])].filter(([k]) => k.startsWith('tessera_requests_total{'))
    .map(([k, v]) => [k.match(/finish_reason="([^"]*)"/)[1], v]));
}

async function main() {
  if (args['list-cases']) {
    for (const [name, k] of Object.entries(KINDS)) console.log(`${name}\t${k.weight}\t${k.valid ? 'valid' : 'hostile'}\texpect: ${k.expect.join(' | ')}`);
    return;
  }
  if (!args.url) throw new Error('--url is required');
  const url = new URL(args.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('the soak only talks to loopback');
  target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), url: url.origin };
  const kinds = selectedKinds();
  const clients = Number(args.clients);
  const durationS = Number(args.duration);
  modelId = await servedModel();
  HOSTILE = buildHostileBodies(Number(args['max-body-bytes']));

  const metricsBefore = await readMetrics();
  const endAt = performance.now() + durationS * 1000;
  const series = [];
  process.stderr.write(`soak: ${clients} clients for ${durationS} s, seed ${args.seed}, cases: ${kinds.join(', ')}\n`);
  const monitoring = monitor(endAt, series);
  // Clients finish the request they are in at the end; each is bounded (VALID_TIMEOUT_MS), and
  // this is the bound on all of them together.
  const drainCap = setTimeout(endSoon, durationS * 1000 + VALID_TIMEOUT_MS + 30000);
  await Promise.all(Array.from({ length: clients }, (_, i) => runClient(i, kinds, endAt)));
  clearTimeout(drainCap);
  const loadS = elapsedS();
  const { health, peaks } = await monitoring;
  if (!died && liveness() !== 'alive') noteDeath(liveness());

  const idle = died ? { idle: false, state: null } : await waitForIdle();
  const metricsAfter = died ? null : await readMetrics();
  const finalHealth = died ? { error: died.reason } : await monitorCall('/health');
  const alive = !died && liveness() === 'alive' && finalHealth.status === 200 && parseJson(finalHealth.text)?.status === 'ok';
  monitorAgent.destroy();

  const all = Object.values(stats);
  const requests = all.reduce((sum, s) => sum + s.count, 0);
  const validKinds = Object.entries(stats).filter(([k]) => KINDS[k].valid);  // those that ran
  const validCount = validKinds.reduce((sum, [, s]) => sum + s.count, 0);
  const validComplete = validKinds.reduce((sum, [, s]) => sum + (s.outcomes.complete ?? 0), 0);
  const rss = rssSummary(series, requests / loadS);
  const before = requestsByFinishReason(metricsBefore);
  const after = requestsByFinishReason(metricsAfter);

  const checks = {
    no_crash: alive,
    // Not applicable when --cases left out every valid kind.
    valid_complete: validKinds.length || died ? validComplete === validCount && !died : null,
    expected_outcomes: all.every((s) => s.unexpected === 0) && !died,
    health_during: health.failed === 0 && !died,
    kv_blocks_returned: idle.idle === true && idle.state?.kv_blocks_used === 0,
    rss_flat: rss.checked ? rss.flat : null,
  };
  const pass = Object.values(checks).every((v) => v !== false);
  const kindsOut = Object.fromEntries(kinds.filter((k) => stats[k]).map((k) => {
    const s = stats[k];
    const entry = { count: s.count, outcomes: s.outcomes, unexpected: s.unexpected };
    if (s.unexpected) entry.samples = s.samples;
    if (KINDS[k].valid) {
      entry.latency_ms = msSummary(s.latencies);
      if (s.ttfts.length) entry.ttft_ms = msSummary(s.ttfts);
    }
    return [k, entry];
  }));
  const validLatencies = validKinds.flatMap(([, s]) => s.latencies);
  const result = {
    pass,
    checks,
    config: { clients, duration_s: durationS, seed: Number(args.seed), max_body_bytes: Number(args['max-body-bytes']),
      cases: kinds, deep_nesting_depth: HOSTILE.depth, model: modelId },
    load_s: round(loadS, 1),
    requests,
    requests_per_s: round(requests / loadS, 1),
    valid: { requests: validCount, complete: validComplete, latency_ms: msSummary(validLatencies) },
    kinds: kindsOut,
    server_died: died,
    health_during: { checks: health.count, failed: health.failed, failures: health.failures, latency_ms: msSummary(health.latencies) },
    peaks_during: peaks,
    end: { ...idle, requests_total_delta: Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)])) },
    rss_mib: rss,
  };
  console.log(JSON.stringify(result, null, 1));

  const failed = Object.entries(checks).filter(([, v]) => v === false).map(([k]) => k);
  const oddKinds = Object.entries(stats).filter(([, s]) => s.unexpected)
    .map(([k, s]) => `${k} ${JSON.stringify(Object.fromEntries(Object.entries(s.outcomes).filter(([o]) => !KINDS[k].expect.includes(o))))}`);
  process.stderr.write(`soak: ${pass ? 'PASS' : `FAIL (${failed.join(', ')})`}: ${requests} requests in ${round(loadS, 0)} s, ` +
    `${validKinds.length ? `${validComplete}/${validCount} valid complete` : 'no valid kinds selected'}` +
    `${died ? `; server died at ${died.at_s} s (${died.reason}) with in flight ${JSON.stringify(died.in_flight)}` : ''}` +
    `${oddKinds.length ? `; unexpected: ${oddKinds.join('; ')}` : ''}` +
    `${idle.state ? `; at the end kv_blocks_used ${idle.state.kv_blocks_used}, running ${idle.state.running_sequences}` : ''}` +
    `${rss.checked ? `; rss ${rss.baseline_median_mib} -> ${rss.final_median_mib} MiB (allowance ${rss.allowance_mib})` : ''}\n`);
  process.exitCode = pass ? 0 : 1;
}

await main();
