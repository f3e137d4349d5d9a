// `tessera serve` under bad input and bad clients, over raw sockets: malformed and oversized
// bodies, clients that trickle, stop reading or vanish, a full queue. Each must get a clear
// error or a clean cancellation while the server stays up and other streams go on.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import {
  getJson, modelId, parseMetrics, postJson, readMetrics, request, sleep, startServer, streamRequest,
  waitFor, waitForIdle, withTimeout,
} from './harness.mjs';

const MAX_BODY_BYTES = 65536;
const CHAT = '/v1/chat/completions';
const COMPLETIONS = '/v1/completions';

const chatBody = (extra = {}) => ({
  model: modelId, messages: [{ role: 'user', content: 'And the LORD spake unto Moses' }], max_tokens: 8, ...extra,
});
// A stream that runs long enough to be interrupted: the model has 512 positions.
const longStream = (extra = {}) => chatBody({ max_tokens: 480, ignore_eos: true, stream: true, ...extra });

const FIXED_METRICS = [
  'tessera_requests_total', 'tessera_prompt_tokens_total', 'tessera_generation_tokens_total',
  'tessera_queue_depth', 'tessera_running_sequences', 'tessera_kv_blocks_used', 'tessera_kv_blocks_total',
  'tessera_active_streams', 'tessera_time_to_first_token_seconds', 'tessera_time_per_output_token_seconds',
];

// The OpenAI error body: {"error": {"message", "type", "param", "code"}}.
function assertErrorBody(response, status, { param, type = 'invalid_request_error' } = {}) {
  assert.equal(response.status, status, `status ${status} expected, got ${response.status}: ${response.text}`);
  const error = response.json?.error;
  assert.ok(error, `an OpenAI error body, got ${response.text}`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0);
  if (type) assert.equal(error.type, type);
  assert.ok('param' in error && 'code' in error, 'param and code are present (null when not applicable)');
  if (param) {
    assert.equal(error.param, param);
    assert.match(error.message, new RegExp(param), `message names ${param}`);
  }
}

// One HTTP exchange on a raw socket, for requests node:http would not send (a body trickled
// byte by byte, a body larger than announced limits). `send(socket)` writes the request; the
// promise resolves with the raw response text and its status once the server closes the
// connection (requests here say `Connection: close`).
function rawExchange(server, send, { timeoutMs = 30000 } = {}) {
  const socket = net.connect(server.port, server.host);
  let text = '';
  const closed = new Promise((resolve, reject) => {
    socket.setEncoding('utf8');
    socket.on('data', (d) => { text += d; });
    // A reset after the response arrived is the server refusing the rest of a body: fine.
    socket.on('error', (error) => {
      if (text) return resolve();
      error.message = `connection failed before any response: ${error.message}`;
      return reject(error);
    });
    socket.on('close', resolve);
  });
  // Write errors are expected once the server refuses a body; the response tells the outcome.
  socket.on('connect', () => Promise.resolve().then(() => send(socket, () => text)).catch(() => {}));
  const result = closed.then(() => ({ text, status: Number(text.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0) }));
  return withTimeout(result, timeoutMs, 'raw exchange').finally(() => socket.destroy());
}

// A raw keep-alive connection: `exchange(text)` sends one request and resolves with the status
// of the response (bodies carry Content-Length here), or { closed: true } if the server closed
// the connection instead.
async function openKeepAlive(server) {
  const socket = net.connect(server.port, server.host);
  socket.on('error', () => {});
  await withTimeout(new Promise((resolve) => socket.once('connect', resolve)), 5000, 'connect');
  let buffer = '';
  let closed = false;
  let waiter = null;
  const check = () => {
    if (!waiter) return;
    const headEnd = buffer.indexOf('\r\n\r\n');
    if (headEnd >= 0) {
      const length = Number(buffer.slice(0, headEnd).match(/content-length: *(\d+)/i)?.[1] ?? 0);
      if (buffer.length >= headEnd + 4 + length) {
        const status = Number(buffer.match(/^HTTP\/1\.1 (\d{3})/)[1]);
        buffer = buffer.slice(headEnd + 4 + length);
        waiter({ status, closed: false });
        waiter = null;
        return;
      }
    }
    if (closed) {
      waiter({ status: 0, closed: true });
      waiter = null;
    }
  };
  socket.setEncoding('utf8');
  socket.on('data', (d) => { buffer += d; check(); });
  socket.on('close', () => { closed = true; check(); });
  return {
    exchange(text) {
      const answer = new Promise((resolve) => { waiter = resolve; });
      if (!closed) socket.write(text);
      check();
      return withTimeout(answer, 10000, 'a keep-alive response');
    },
    close: () => socket.destroy(),
  };
}

function requestHead(path, headers) {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

// Writes `pieces` one after another, giving the server a moment after each to answer, and stops
// as soon as it has (`answered()`). A server that refuses a body closes the connection; if the
// client were still writing then, the reset could destroy the answer before it is read.
async function writeUntilAnswered(socket, pieces, answered, waitMs = 1500) {
  for (const piece of pieces) {
    if (answered() || socket.destroyed) return;
    socket.write(piece);
    const deadline = Date.now() + waitMs;
    while (!answered() && !socket.destroyed && Date.now() < deadline) await sleep(20);
  }
}

// Runs `count` ordinary streams of `maxTokens` tokens concurrently and checks each delivered them
// all. Resolves with the time each took.
async function runOrdinaryStreams(server, count, maxTokens, timeoutMs) {
  const one = async () => {
    const start = Date.now();
    const result = await streamRequest(server, CHAT, chatBody({
      max_tokens: maxTokens, ignore_eos: true, stream: true, stream_options: { include_usage: true },
    }), { timeoutMs });
    assert.equal(result.status, 200);
    assert.ok(result.done, 'stream ended with [DONE]');
    assert.equal(result.events.at(-1).usage.completion_tokens, maxTokens);
    return Date.now() - start;
  };
  return Promise.all(Array.from({ length: count }, one));
}

describe('robustness', () => {
  let server;

  before(async () => {
    server = await startServer({ args: ['--max-body-bytes', String(MAX_BODY_BYTES)] });
  });

  after(async () => {
    if (server) await server.stop({ signal: 'SIGKILL' });
  });

  test('/health answers {"status":"ok"}', async () => {
    const response = await getJson(server, '/health');
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { status: 'ok' });
  });

  test('/metrics is Prometheus text with the fixed names and consistent histograms', async () => {
    // One finished request so that every counter and histogram has a sample.
    assert.equal((await postJson(server, CHAT, chatBody())).status, 200);
    const response = await getJson(server, '/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers['content-type'], /^text\/plain/);
    for (const name of FIXED_METRICS) assert.match(response.text, new RegExp(`^# TYPE ${name} `, 'm'), `# TYPE ${name}`);
    const m = parseMetrics(response.text);
    for (const reason of ['stop', 'length', 'cancelled', 'error']) {
      assert.ok(m.has(`tessera_requests_total{finish_reason="${reason}"}`), `requests_total for ${reason}`);
    }
    assert.ok(m.get('tessera_kv_blocks_total') > 0);
    for (const histogram of ['tessera_time_to_first_token_seconds', 'tessera_time_per_output_token_seconds']) {
      assert.match(response.text, new RegExp(`^# TYPE ${histogram} histogram`, 'm'));
      const buckets = [...m].filter(([k]) => k.startsWith(`${histogram}_bucket{`))
        .map(([k, v]) => ({ le: k.match(/le="([^"]+)"/)[1], count: v }));
      assert.ok(buckets.length >= 2, `${histogram} has buckets`);
      const bounds = buckets.map((b) => (b.le === '+Inf' ? Infinity : Number(b.le)));
      assert.deepEqual(bounds, [...bounds].sort((a, b) => a - b), 'buckets in increasing le');
      buckets.forEach((b, i) => i && assert.ok(b.count >= buckets[i - 1].count, 'buckets are cumulative'));
      assert.equal(buckets.at(-1).le, '+Inf');
      assert.equal(buckets.at(-1).count, m.get(`${histogram}_count`), '+Inf bucket equals _count');
      assert.ok(m.get(`${histogram}_count`) >= 1);
      assert.ok(m.get(`${histogram}_sum`) > 0);
    }
  });

  test('counters follow a request: requests, prompt and generation tokens, TTFT', async () => {
    const before = await readMetrics(server);
    const response = await postJson(server, COMPLETIONS, {
      model: modelId, prompt: 'In the beginning', max_tokens: 6, ignore_eos: true, temperature: 0,
    });
    assert.equal(response.status, 200);
    const { usage } = response.json;
    const now = await readMetrics(server);
    const delta = (name) => now.get(name) - before.get(name);
    assert.equal(delta('tessera_requests_total{finish_reason="length"}'), 1);
    assert.equal(delta('tessera_prompt_tokens_total'), usage.prompt_tokens);
    assert.equal(delta('tessera_generation_tokens_total'), 6);
    assert.equal(delta('tessera_time_to_first_token_seconds_count'), 1);
  });

  test('a stream is framed as Server-Sent Events ending in [DONE]', async () => {
    const result = await streamRequest(server, CHAT, chatBody({ stream: true }));
    assert.equal(result.status, 200);
    assert.match(result.headers['content-type'], /^text\/event-stream/);
    assert.ok(result.done);
    assert.ok(result.text.endsWith('data: [DONE]\n\n'), 'the last event is data: [DONE]');
    for (const event of result.text.split('\n\n').filter(Boolean)) assert.match(event, /^data: /);
  });

  test('malformed JSON -> 400', async () => {
    for (const body of ['{"model": ', 'not json at all', '{"messages": [}', '']) {
      const response = await request(server, 'POST', CHAT, { body, headers: { 'content-type': 'application/json' } });
      assertErrorBody(response, 400);
    }
  });

  test('a body that is JSON but not an object -> 400', async () => {
    for (const body of ['[1, 2]', '"text"', '42', 'null']) {
      assertErrorBody(await request(server, 'POST', COMPLETIONS, { body }), 400);
    }
  });

  test('wrong types -> 400 naming the field', async () => {
    const cases = [
      [CHAT, 'messages', chatBody({ messages: 'hello' })],
      [CHAT, 'max_tokens', chatBody({ max_tokens: '10' })],
      [CHAT, 'stream', chatBody({ stream: 'yes' })],
      [CHAT, 'temperature', chatBody({ temperature: [1] })],
      [CHAT, 'model', chatBody({ model: 7 })],
      [COMPLETIONS, 'prompt', { model: modelId, prompt: { text: 'x' } }],
      [COMPLETIONS, 'top_p', { model: modelId, prompt: 'x', top_p: '0.5' }],
    ];
    for (const [path, param, body] of cases) {
      assertErrorBody(await postJson(server, path, body), 400, { param });
    }
    const nested = await postJson(server, CHAT, chatBody({ stream: true, stream_options: { include_usage: 'yes' } }));
    assertErrorBody(nested, 400);
    assert.match(nested.json.error.message, /include_usage/);
  });

  test('unknown route -> 404, wrong method -> 405, unknown model -> 404 model_not_found', async () => {
    assertErrorBody(await getJson(server, '/v1/nothing-here'), 404, { type: null });
    assertErrorBody(await request(server, 'POST', '/v2/chat/completions', { body: chatBody() }), 404, { type: null });
    assertErrorBody(await getJson(server, CHAT), 405, { type: null });
    assertErrorBody(await request(server, 'POST', '/v1/models', { body: {} }), 405, { type: null });
    assertErrorBody(await request(server, 'DELETE', '/health'), 405, { type: null });
    const unknown = await postJson(server, CHAT, chatBody({ model: 'gpt-4o' }));
    assertErrorBody(unknown, 404, { type: null });
    assert.equal(unknown.json.error.code, 'model_not_found');
  });

  test('a body under the limit is read whole (unknown padding field ignored)', async () => {
    const padded = chatBody({ padding: 'x'.repeat(MAX_BODY_BYTES - 1024) });
    const response = await postJson(server, CHAT, padded);
    assert.equal(response.status, 200, response.text);
  });

  test('a body over --max-body-bytes -> 413, by Content-Length and chunked, server up', async () => {
    // By Content-Length: the header alone already says too much is coming; only then the body,
    // first just over the limit, then the rest.
    const size = 16 * MAX_BODY_BYTES;
    const byLength = await rawExchange(server, (socket, received) => writeUntilAnswered(socket, [
      requestHead(CHAT, { 'Content-Type': 'application/json', 'Content-Length': size }),
      Buffer.alloc(MAX_BODY_BYTES + 1, 'x'),
      Buffer.alloc(size - MAX_BODY_BYTES - 1, 'x'),
    ], received));
    assert.equal(byLength.status, 413, `got: ${byLength.text.slice(0, 300)}`);
    assert.match(byLength.text, /"error"/);

    // Chunked: no length up front, so the server must count what arrives.
    const over = MAX_BODY_BYTES + 1;
    const chunked = await rawExchange(server, (socket, received) => writeUntilAnswered(socket, [
      requestHead(CHAT, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }),
      `${over.toString(16)}\r\n`,
      Buffer.concat([Buffer.alloc(over, 'y'), Buffer.from('\r\n')]),
      '0\r\n\r\n',
    ], received));
    assert.equal(chunked.status, 413, `got: ${chunked.text.slice(0, 300)}`);

    assert.equal((await getJson(server, '/health')).status, 200);
    assert.equal((await postJson(server, CHAT, chatBody())).status, 200);
  });

  test('a client trickling its request byte by byte does not stall other streams', async () => {
    const body = JSON.stringify(chatBody({ max_tokens: 4 }));
    const whole = Buffer.from(requestHead(CHAT, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }) + body);
    let trickleDone = 0;
    // About 25 ms a byte: several seconds for the whole request, well within the server's read
    // timeout, and far longer than the ordinary streams below need even on a loaded machine (at
    // 15 ms they once took 4.7 s of the trickle's 5 while fuzzers ran beside the tests).
    const trickle = rawExchange(server, async (socket) => {
      for (let i = 0; i < whole.length && !socket.destroyed; i += 1) {
        socket.write(whole.subarray(i, i + 1));
        if (i === whole.length - 1) trickleDone = Date.now();  // the server may answer at once
        else await sleep(25);
      }
    }, { timeoutMs: 60000 });
    await sleep(200);
    const started = Date.now();
    await runOrdinaryStreams(server, 4, 32, 30000);
    const streamsDone = Date.now();
    const trickled = await trickle;
    assert.ok(trickleDone > 0, `the trickle wrote its whole request; the server answered: ${trickled.text.slice(0, 300)}`);
    assert.ok(streamsDone < trickleDone,
      `the streams (${streamsDone - started} ms) finished while the trickle was still writing`);
    assert.equal(trickled.status, 200, trickled.text.slice(0, 300));
    assert.match(trickled.text, /"chat\.completion"/);
  });

  test('clients that stop reading their streams do not stall other streams', async () => {
    // Streams that each produce far more than the socket buffers hold once a client stops reading
    // (20 alternatives per token), so that the server must hold or drop data, never block on it.
    const body = JSON.stringify(longStream({ logprobs: true, top_logprobs: 20 }));
    const stalled = [];
    for (let i = 0; i < 3; i += 1) {
      const socket = net.connect(server.port, server.host);
      socket.on('error', () => {});
      socket.on('connect', () => {
        socket.write(requestHead(CHAT, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }) + body);
        socket.pause();  // never read a byte
      });
      stalled.push(socket);
    }
    try {
      await waitFor(async () => (await readMetrics(server)).get('tessera_active_streams') >= 3,
        { timeoutMs: 10000, what: 'the three stalled streams to start' });
      const times = await runOrdinaryStreams(server, 4, 32, 60000);
      assert.equal(times.length, 4);
    } finally {
      for (const socket of stalled) socket.destroy();
    }
    await waitForIdle(server);
  });

  test('a client vanishing mid-stream cancels its request and frees its KV blocks', async () => {
    const cancelled = 'tessera_requests_total{finish_reason="cancelled"}';
    const before = await readMetrics(server);
    let contentEvents = 0;
    const result = await streamRequest(server, CHAT, longStream(), {
      onEvent: (event, abort) => {
        if (event?.choices?.[0]?.delta?.content) contentEvents += 1;
        if (contentEvents === 3) abort();
      },
    });
    assert.ok(result.aborted && !result.done, 'the client left before the end');
    await waitFor(async () => (await readMetrics(server)).get(cancelled) === before.get(cancelled) + 1,
      { timeoutMs: 10000, what: 'requests_total{finish_reason="cancelled"} to count it' });
    const idle = await waitForIdle(server);
    assert.equal(idle.kvUsed, 0);
    const after = await readMetrics(server);
    assert.ok(after.get('tessera_generation_tokens_total') - before.get('tessera_generation_tokens_total') < 480,
      'it stopped before its 480 tokens');
  });

  test('a client vanishing during a non-streaming request cancels it too', async () => {
    const cancelled = 'tessera_requests_total{finish_reason="cancelled"}';
    const before = await readMetrics(server);
    const body = JSON.stringify(chatBody({ max_tokens: 480, ignore_eos: true }));
    const socket = net.connect(server.port, server.host);
    socket.on('error', () => {});
    socket.write(requestHead(CHAT, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }) + body);
    try {
      await waitFor(async () => (await readMetrics(server)).get('tessera_running_sequences') >= 1,
        { timeoutMs: 10000, intervalMs: 10, what: 'the request to run' });
    } finally {
      socket.destroy();
    }
    await waitFor(async () => (await readMetrics(server)).get(cancelled) === before.get(cancelled) + 1,
      { timeoutMs: 10000, what: 'requests_total{finish_reason="cancelled"} to count it' });
    await waitForIdle(server);
  });

  test('after all of it the server still answers', async () => {
    assert.deepEqual((await getJson(server, '/health')).json, { status: 'ok' });
    const response = await postJson(server, CHAT, chatBody({ temperature: 0 }));
    assert.equal(response.status, 200);
    assert.equal(response.json.choices[0].message.role, 'assistant');
  });

  test('SIGTERM with a stream in flight: new work refused, the stream ends, exit 0', async () => {
    // A keep-alive connection opened before the signal: the way a request can still reach a
    // server that has stopped accepting connections.
    const idle = await openKeepAlive(server);
    assert.equal((await idle.exchange('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200);

    let sawContent;
    const sawFirst = new Promise((resolve) => { sawContent = resolve; });
    const stream = streamRequest(server, CHAT, longStream(), {
      onEvent: (event) => event?.choices?.[0]?.delta?.content && sawContent(),
      timeoutMs: 30000,
    });
    await withTimeout(sawFirst, 10000, 'the first token');
    const stopped = server.stop({ signal: 'SIGTERM', timeoutMs: 15000 });
    await sleep(200);
    const body = JSON.stringify(chatBody());
    const late = await idle.exchange(`POST ${CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // 503 as the contract says, or the idle connection closed: never new work after the signal.
    assert.ok(late.status === 503 || late.closed, `503 or a closed connection, got ${late.status}`);
    idle.close();

    const exit = await stopped;
    assert.ok(exit.graceful, 'exited within 15 s of SIGTERM');
    assert.equal(exit.code, 0);
    await stream;  // it ended (finished, or cut off) rather than hanging
  });
});

describe('queue full', () => {
  let server;

  before(async () => {
    server = await startServer({ args: ['--max-queue', '4'] });
  });

  after(async () => {
    if (server) await server.stop({ signal: 'SIGKILL' });
  });

  // 128 at once: more than the running batch (64) plus a queue of 4.
  async function flood() {
    const body = { model: modelId, prompt: 'And it came to pass', max_tokens: 64, ignore_eos: true };
    // A connection dropped without an answer counts under its error code, so that the assertion
    // shows how many of each outcome there were.
    const responses = await Promise.all(Array.from({ length: 128 }, () =>
      postJson(server, COMPLETIONS, body, { timeoutMs: 120000 }).catch((error) => ({ status: error.code ?? error.message }))));
    const byStatus = {};
    for (const response of responses) (byStatus[response.status] ??= []).push(response);
    const counts = Object.fromEntries(Object.entries(byStatus).map(([status, list]) => [status, list.length]));
    assert.deepEqual(Object.keys(byStatus).sort(), ['200', '429'], `only 200 and 429 expected, got ${JSON.stringify(counts)}`);
    for (const refused of byStatus[429]) assertErrorBody(refused, 429, { type: null });
    for (const ok of byStatus[200]) assert.equal(ok.json.usage.completion_tokens, 64);
    assert.deepEqual((await getJson(server, '/health')).json, { status: 'ok' });
    await waitForIdle(server);
  }

  // Several rounds: answers racing with refusals is where connection-handling bugs show, and one
  // round does not always hit them.
  for (const round of [1, 2, 3]) {
    test(`flood round ${round}: beyond the running batch and --max-queue -> 429, the rest complete`, flood);
  }
});
