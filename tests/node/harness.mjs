// Shared by the server's Node tests: starts `tessera serve` on a free port, talks HTTP to it
// (plain requests, Server-Sent Events, Prometheus metrics) and runs `tessera generate` as the
// independent reference. Every wait here is bounded, and every server started here is killed
// when the test process exits, whatever happened.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceRoot = path.resolve(here, '../..');

// ctest passes these; the defaults let a developer run `node --test tests/node/` from the root.
// Relative paths are taken from the current directory.
export const config = {
  binary: path.resolve(process.env.TESSERA_BINARY ?? path.join(sourceRoot, 'build/app/tessera')),
  modelDir: path.resolve(process.env.TESSERA_MODEL_DIR ?? path.join(sourceRoot, 'models/kjv-tiny')),
  nodeModules: path.resolve(process.env.TESSERA_TEST_NODE_MODULES ?? path.join(sourceRoot, 'build/test-node-modules')),
};
export const modelId = path.basename(config.modelDir);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Rejects after `ms` with a message saying what was awaited, so a hang names itself.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Polls `probe` until it returns a truthy value; the last value seen goes into the error.
export async function waitFor(probe, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The server process

const running = new Set();
// A failed assertion or a crash must not leave a server behind holding a port and CPU.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class Server {
  constructor(child) {
    this.child = child;
    this.pid = child.pid;
    this.stderrText = '';
    this.url = null;
    this.stopping = false;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        running.delete(child);
        // A server dying on its own is the finding that explains every later failure: say so.
        if (!this.stopping) {
          process.stderr.write(`tessera serve (pid ${child.pid}) exited unexpectedly: code ${code}, ` +
            `signal ${signal}\n${this.stderrTail()}\n`);
        }
        resolve({ code, signal });
      });
    });
  }

  get host() { return new URL(this.url).hostname; }
  get port() { return Number(new URL(this.url).port); }

  // The last lines of stderr, for failure messages.
  stderrTail(lines = 20) {
    return this.stderrText.trimEnd().split('\n').slice(-lines).join('\n');
  }

  // SIGTERM (graceful shutdown), then SIGKILL if it has not exited within `timeoutMs`.
  // Returns { code, signal, graceful } where graceful says no SIGKILL was needed.
  async stop({ signal = 'SIGTERM', timeoutMs = 15000 } = {}) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return { ...(await this.exited), graceful: true };
    }
    this.stopping = true;
    this.child.kill(signal);
    const timer = sleep(timeoutMs).then(() => null);
    const result = await Promise.race([this.exited, timer]);
    if (result) return { ...result, graceful: true };
    this.child.kill('SIGKILL');
    return { ...(await this.exited), graceful: false };
  }
}

// Starts `tessera serve --model DIR --port 0 ARGS...` (DIR the bundled model unless `modelDir`)
// and resolves once it has printed both its listening line (which carries the real port) and its
// ready line.
export async function startServer({ args = [], env = {}, readyTimeoutMs = 120000, modelDir = config.modelDir } = {}) {
  // A key in the test runner's own environment must not guard servers started without one.
  const { TESSERA_API_KEY: _inherited, ...inherited } = process.env;
  const child = spawn(config.binary, ['serve', '--model', modelDir, '--port', '0', ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  const server = new Server(child);
  const ready = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      server.stderrText += text;
      const listening = server.stderrText.match(/tessera: listening on (http:\/\/\S+)/);
      if (listening && !server.url) server.url = listening[1].replace(/\/$/, '');
      if (server.url && /tessera: ready/.test(server.stderrText)) resolve(server);
    });
    server.exited.then(({ code, signal }) =>
      reject(new Error(`tessera serve exited (code ${code}, signal ${signal}) before ready:\n${server.stderrTail()}`)));
  });
  try {
    return await withTimeout(ready, readyTimeoutMs, 'tessera serve to print its ready line');
  } catch (error) {
    server.stopping = true;
    child.kill('SIGKILL');
    error.message += `\nserver stderr:\n${server.stderrTail()}`;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

// A request's body as bytes (a string or Buffer as given, anything else as JSON) and its headers
// with Content-Type (JSON unless given) and Content-Length set when there is a body.
export function requestPayload(body, headers = {}) {
  const payload = body === undefined ? undefined
    : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const allHeaders = { ...headers };
  if (payload !== undefined) {
    allHeaders['content-type'] ??= 'application/json';
    allHeaders['content-length'] = Buffer.byteLength(payload);
  }
  return { payload, allHeaders };
}

// One request on its own connection (no keep-alive pool, so tests do not share sockets).
// Resolves { status, headers, text, json } where json is null when the body is not JSON.
export function request(server, method, urlPath, { body, headers = {}, timeoutMs = 60000 } = {}) {
  const { payload, allHeaders } = requestPayload(body, headers);
  const done = new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${urlPath}`, { method, headers: allHeaders, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, text, json: parseJsonOrNull(text) });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
  return withTimeout(done, timeoutMs, `${method} ${urlPath}`);
}

export const getJson = (server, urlPath, options) => request(server, 'GET', urlPath, options);
export const postJson = (server, urlPath, body, options) => request(server, 'POST', urlPath, { ...options, body });

function parseJsonOrNull(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Splits a Server-Sent Events byte stream into the `data:` payloads of its events. Payloads may
// arrive split across TCP reads, so text is buffered until the blank line ending an event.
export class SseParser {
  constructor(onData) {
    this.buffer = '';
    this.onData = onData;
  }

  push(text) {
    this.buffer += text.replace(/\r\n/g, '\n');
    let end;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const event = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
      if (data.length) this.onData(data.join('\n'));
    }
  }
}

// A streaming POST. `onEvent(payload, abort)` sees each data payload as it arrives (parsed JSON,
// or the string '[DONE]'); calling `abort()` destroys the connection, as a client that vanishes
// mid-stream does. Resolves { status, headers, events, done, aborted, error, text } once the
// response has ended or the connection is gone.
export function streamRequest(server, urlPath, body, { onEvent = () => {}, headers = {}, timeoutMs = 60000 } = {}) {
  const payload = JSON.stringify(body);
  const result = { status: 0, headers: {}, events: [], done: false, aborted: false, error: null, text: '' };
  const finished = new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${urlPath}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
    });
    const abort = () => {
      result.aborted = true;
      req.destroy();
      resolve(result);
    };
    req.on('response', (res) => {
      result.status = res.statusCode;
      result.headers = res.headers;
      res.setEncoding('utf8');
      const parser = new SseParser((data) => {
        if (result.aborted) return;
        if (data === '[DONE]') {
          result.done = true;
          onEvent(data, abort);
          return;
        }
        const event = JSON.parse(data);
        result.events.push(event);
        onEvent(event, abort);
      });
      res.on('data', (text) => {
        result.text += text;
        if (res.statusCode === 200) parser.push(text);
      });
      res.on('end', () => resolve(result));
      res.on('close', () => resolve(result));
      res.on('error', () => resolve(result));
    });
    // Once a response has begun, a broken connection is an outcome to report, not a failure to
    // throw: the caller decides whether a cut-off stream is acceptable.
    req.on('error', (error) => {
      if (result.aborted) return resolve(result);
      if (!result.status) return reject(error);
      result.error = error.message;
      return resolve(result);
    });
    req.end(payload);
  });
  return withTimeout(finished, timeoutMs, `stream ${urlPath}`);
}

// ---------------------------------------------------------------------------------------------
// Raw connections

// A TCP connection that reads HTTP/1.x responses as the server framed them, for what node:http
// hides or will not send: pipelined requests, HEAD framing, 1xx interim responses, HTTP/1.0,
// half-closed connections. Every wait is bounded.
export class RawConnection {
  static async open(server, { timeoutMs = 5000 } = {}) {
    const connection = new RawConnection(net.connect(server.port, server.host));
    await withTimeout(new Promise((resolve, reject) => {
      connection.socket.once('connect', resolve);
      connection.socket.once('error', reject);
    }), timeoutMs, 'connect');
    return connection;
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.ended = false;  // the server closed (or reset) the connection
    this.error = null;
    this.wake = () => {};
    socket.on('data', (data) => { this.buffer = Buffer.concat([this.buffer, data]); this.wake(); });
    socket.on('error', (error) => { this.error = error; });
    socket.on('close', () => { this.ended = true; this.wake(); });
  }

  write(bytes) { this.socket.write(bytes); }
  // shutdown(SHUT_WR): no more requests, but the answers are still read.
  halfClose() { this.socket.end(); }
  destroy() { this.socket.destroy(); }

  // Resolves once `parse` (given the bytes so far and whether the server has closed) returns a
  // result, which it may take from the front of the buffer by returning { value, used }.
  async #next(parse, timeoutMs, what) {
    const wait = new Promise((resolve, reject) => {
      this.wake = () => {
        try {
          const result = parse(this.buffer, this.ended);
          if (!result) return;
          this.buffer = this.buffer.subarray(result.used);
          this.wake = () => {};
          resolve(result.value);
        } catch (error) {
          this.wake = () => {};
          reject(error);
        }
      };
    });
    this.wake();
    return withTimeout(wait, timeoutMs, what);
  }

  // The next response: { version, status, headers (lower-case names), body (Buffer), interim
  // (statuses of the 1xx responses before it) }. `head`: the response to a HEAD request, which
  // has no body whatever its header says.
  response({ head = false, timeoutMs = 10000 } = {}) {
    return this.#next((bytes, ended) => parseResponse(bytes, ended, head), timeoutMs, 'a response');
  }

  // The next interim (1xx) response's status, left off the front of what arrives.
  interimResponse({ timeoutMs = 10000 } = {}) {
    return this.#next((bytes) => {
      const headEnd = bytes.indexOf('\r\n\r\n');
      if (headEnd < 0) return null;
      const status = Number(bytes.subarray(0, headEnd).toString('latin1').match(/^HTTP\/\d\.\d (\d{3})/)?.[1]);
      if (!(status >= 100 && status < 200)) throw new Error(`a 1xx response expected, got ${bytes.subarray(0, headEnd)}`);
      return { value: status, used: headEnd + 4 };
    }, timeoutMs, 'an interim response');
  }

  // The bytes that arrive within `ms` (for checking that nothing does).
  async bytesWithin(ms) {
    await sleep(ms);
    const bytes = this.buffer;
    this.buffer = Buffer.alloc(0);
    return bytes;
  }

  // Resolves true once the server has closed the connection, false if it has not within `ms`.
  async closedWithin(ms) {
    const deadline = Date.now() + ms;
    while (!this.ended && Date.now() < deadline) await sleep(10);
    return this.ended;
  }
}

// One HTTP/1.x response from the front of `bytes`, or null when more bytes are needed. Throws
// when the connection ended before a whole response.
function parseResponse(bytes, ended, head) {
  const interim = [];
  let start = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return incomplete(ended, bytes, 'header');
    const lines = bytes.subarray(start, headEnd).toString('latin1').split('\r\n');
    const statusLine = lines[0].match(/^HTTP\/(\d\.\d) (\d{3})/);
    if (!statusLine) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
    const status = Number(statusLine[2]);
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const bodyStart = headEnd + 4;
    if (status >= 100 && status < 200) {
      interim.push(status);
      start = bodyStart;
      continue;
    }
    const response = { version: statusLine[1], status, headers, interim };
    const done = (body, used) => ({ value: { ...response, body }, used });
    if (head || status === 204 || status === 304) return done(Buffer.alloc(0), bodyStart);
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const pieces = [];
      let at = bodyStart;
      for (;;) {
        const sizeEnd = bytes.indexOf('\r\n', at);
        if (sizeEnd < 0) return incomplete(ended, bytes, 'chunk size');
        const size = parseInt(bytes.subarray(at, sizeEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('malformed chunk size');
        if (bytes.length < sizeEnd + 2 + size + 2) return incomplete(ended, bytes, 'chunk');
        if (size === 0) return done(Buffer.concat(pieces), sizeEnd + 4);
        pieces.push(bytes.subarray(sizeEnd + 2, sizeEnd + 2 + size));
        at = sizeEnd + 2 + size + 2;
      }
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (bytes.length < bodyStart + length) return incomplete(ended, bytes, 'body');
      return done(bytes.subarray(bodyStart, bodyStart + length), bodyStart + length);
    }
    // Neither: the body runs to the end of the connection.
    return ended ? done(bytes.subarray(bodyStart), bytes.length) : null;
  }
}

function incomplete(ended, bytes, what) {
  if (!ended) return null;
  if (bytes.length === 0) throw new Error('the server closed the connection without a response');
  throw new Error(`the connection closed in the middle of a response's ${what} ` +
    `(${bytes.length} bytes: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))})`);
}

// ---------------------------------------------------------------------------------------------
// Metrics

// Parses Prometheus text into a Map from `name{labels}` (labels as printed, sorted by name) to
// the sample's value; a sample without labels is keyed by its bare name.
export function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/);
    if (!match) throw new Error(`unparseable metrics line: ${line}`);
    const labels = match[3] ? canonicalLabels(match[3]) : '';
    samples.set(labels ? `${match[1]}{${labels}}` : match[1], Number(match[4]));
  }
  return samples;
}

function canonicalLabels(text) {
  const pairs = [...text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]);
  return pairs.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join(',');
}

export async function readMetrics(server) {
  const response = await getJson(server, '/metrics', { timeoutMs: 10000 });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${response.text}`);
  return parseMetrics(response.text);
}

// Waits until nothing runs or waits on the server and every KV block is free again.
export function waitForIdle(server, timeoutMs = 20000) {
  return waitFor(async () => {
    const m = await readMetrics(server);
    const state = {
      running: m.get('tessera_running_sequences'),
      queued: m.get('tessera_queue_depth'),
      kvUsed: m.get('tessera_kv_blocks_used'),
      streams: m.get('tessera_active_streams'),
    };
    return state.running === 0 && state.queued === 0 && state.kvUsed === 0 && state.streams === 0 ? state : false;
  }, { timeoutMs, intervalMs: 100, what: 'server idle (running 0, queue 0, KV blocks used 0, streams 0)' });
}

// ---------------------------------------------------------------------------------------------
// References and clients

// `tessera generate --json`: greedy unless `flags` say otherwise. The independent path that the
// server's greedy output must equal.
export function referenceGenerate({ prompt, maxTokens, chat = false, flags = [] }) {
  const args = ['generate', '--model', config.modelDir, '--prompt', prompt,
    '--max-tokens', String(maxTokens), '--json', ...flags];
  if (chat) args.push('--chat');
  const run = spawnSync(config.binary, args, { encoding: 'utf8', timeout: 120000 });
  if (run.status !== 0) throw new Error(`tessera ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

// `tessera tokenize --add-special-tokens` of one line of text: the ids a completion prompt gets.
export function tokenize(text) {
  const run = spawnSync(config.binary, ['tokenize', '--model', config.modelDir, '--add-special-tokens'],
    { input: `${text}\n`, encoding: 'utf8', timeout: 60000 });
  if (run.status !== 0) throw new Error(`tessera tokenize failed (${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n')[0]);
}

// The official openai package, installed outside the source tree by
// tools/fetch_test_node_modules.sh (ctest's fetch_test_node_modules fixture).
export function loadOpenAI() {
  const require = createRequire(path.join(config.nodeModules, 'package.json'));
  try {
    return require('openai');
  } catch (error) {
    throw new Error(`cannot load the openai package from ${config.nodeModules} ` +
      `(run tools/fetch_test_node_modules.sh ${config.nodeModules}): ${error.message}`);
  }
}
