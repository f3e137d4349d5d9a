// The OpenAI request layer under hostile and careless clients (issue 16): bodies that used to
// crash the server, parameters that used to be ignored silently, the headers and codes of its
// errors, and prompts too large to fit that used to hold an HTTP I/O thread while they were
// tokenized. Real sockets against `tessera serve` on the CPU; after each case the server must
// still answer /health.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { getJson, modelId, postJson, request, sleep, startServer, withTimeout } from './harness.mjs';

const CHAT = '/v1/chat/completions';
const COMPLETIONS = '/v1/completions';
const CONTEXT = 512;  // kjv-tiny's max_position_embeddings

const userMessages = [{ role: 'user', content: 'And the LORD spake unto Moses' }];
const chatBody = (extra = {}) => ({ model: modelId, messages: userMessages, max_tokens: 2, ...extra });
const completionBody = (extra = {}) => ({ model: modelId, prompt: 'In the beginning', max_tokens: 2, ...extra });

// The OpenAI error body, with the field at fault named in `param` and in the message.
function assertError(response, status, { param, code } = {}) {
  assert.equal(response.status, status, `status ${status} expected, got ${response.status}: ${response.text}`);
  const error = response.json?.error;
  assert.ok(error, `an OpenAI error body, got ${response.text}`);
  assert.ok('param' in error && 'code' in error, 'param and code are present');
  if (param !== undefined) {
    assert.equal(error.param, param, response.text);
    assert.ok(error.message.includes(param), `message names ${param}: ${error.message}`);
  }
  if (code !== undefined) assert.equal(error.code, code, response.text);
  return error;
}

async function assertAlive(server) {
  const health = await getJson(server, '/health', { timeoutMs: 10000 });
  assert.equal(health.status, 200, `the server answers /health: ${health.text}`);
}

// A POST of a large body on its own connection. `sent` resolves once the whole body is handed to
// the kernel; `response` with { status, json, ms } where ms counts from then.
function postLarge(server, urlPath, payload, timeoutMs = 60000) {
  let sentAt = 0;
  let markSent;
  const sent = new Promise((resolve) => { markSent = resolve; });
  const response = new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${urlPath}`, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json, ms: Date.now() - sentAt });
      });
    });
    req.on('error', reject);
    req.on('finish', () => { sentAt = Date.now(); markSent(); });
    req.end(payload);
  });
  const result = { sent: withTimeout(sent, timeoutMs, `sending ${urlPath}`), response: withTimeout(response, timeoutMs, `POST ${urlPath}`) };
  // Awaited by the test, or not at all when it failed earlier: never an unhandled rejection.
  result.sent.catch(() => {});
  result.response.catch(() => {});
  return result;
}

// Each of these used to end the process; a server of their own, so that the cases after them
// show their own findings.
describe('bodies that used to crash the server', () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    if (server) await server.stop({ signal: 'SIGKILL' });
  });

  test('a number that overflows a double -> 400 naming the body, server alive', async () => {
    for (const [path, body] of [[CHAT, chatBody()], [COMPLETIONS, completionBody()]]) {
      const text = JSON.stringify(body).replace(/}$/, ',"temperature":1e400}');
      const response = await request(server, 'POST', path, { body: text });
      const error = assertError(response, 400);
      assert.match(error.message, /request body/);
      await assertAlive(server);
    }
  });

  test('JSON nested 300,000 deep inside a message -> 400, server alive', async () => {
    const deep = `${'['.repeat(300000)}${']'.repeat(300000)}`;
    const text = `{"model":"${modelId}","messages":[{"role":"user","content":"x","extra":${deep}}],"max_tokens":2}`;
    const response = await request(server, 'POST', CHAT, { body: text });
    const error = assertError(response, 400);
    assert.match(error.message, /deeper than/);
    await assertAlive(server);
  });
});

// The status line of HEAD `path`, over a raw socket: that the body is left out is the HTTP
// server's business (and its tests'); here only the routing is checked.
function rawHead(server, path) {
  const socket = net.connect(server.port, server.host);
  let text = '';
  const done = new Promise((resolve, reject) => {
    socket.setEncoding('utf8');
    socket.on('data', (d) => { text += d; });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
  socket.write(`HEAD ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  return withTimeout(done, 10000, `HEAD ${path}`);
}

describe('api hardening', () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    if (server) await server.stop({ signal: 'SIGKILL' });
  });

  test('parameters that would change the answer -> 400 naming them', async () => {
    const refused = {
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
      functions: [{ name: 'f' }],
      function_call: 'auto',
      response_format: { type: 'json_object' },
      logit_bias: { 42: 100 },
      guided_json: { type: 'object' },
      guided_regex: 'a+',
      guided_choice: ['yes', 'no'],
      guided_grammar: 'root ::= "a"',
      guided_decoding_backend: 'xgrammar',
      structured_outputs: { json: { type: 'object' } },
      min_tokens: 5,
      allowed_token_ids: [1, 2, 3],
      bad_words: ['Moses'],
      audio: { voice: 'alloy', format: 'wav' },
      modalities: ['text', 'audio'],
      web_search_options: {},
      echo: true,
      continue_final_message: true,
      chat_template: '{{ messages }}',
    };
    for (const [param, value] of Object.entries(refused)) {
      for (const [path, body] of [[CHAT, chatBody({ [param]: value })], [COMPLETIONS, completionBody({ [param]: value })]]) {
        assertError(await postJson(server, path, body), 400, { param });
      }
    }
    await assertAlive(server);
  });

  test('their neutral values pass and the request completes', async () => {
    const neutral = {
      tools: [], tool_choice: 'none', functions: null, response_format: { type: 'text' }, logit_bias: {},
      min_tokens: 0, stop_token_ids: [], guided_json: null, allowed_token_ids: null, modalities: ['text'],
      parallel_tool_calls: true, user: 'someone', store: false, metadata: { a: 'b' },
    };
    const response = await postJson(server, CHAT, chatBody(neutral));
    assert.equal(response.status, 200, response.text);
    const completion = await postJson(server, COMPLETIONS, completionBody({ logit_bias: {}, min_tokens: 0 }));
    assert.equal(completion.status, 200, completion.text);
  });

  test('tool calls in the history are refused when the chat template cannot render them', async () => {
    const withCall = [...userMessages, {
      role: 'assistant', content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
    }];
    assertError(await postJson(server, CHAT, chatBody({ messages: withCall })), 400, { param: 'messages[1].tool_calls' });
    const withResult = [...userMessages, { role: 'tool', tool_call_id: 'call_1', content: '42' }];
    assertError(await postJson(server, CHAT, chatBody({ messages: withResult })), 400, { param: 'messages[1].role' });
    // An empty list asks for nothing.
    const empty = [...userMessages, { role: 'assistant', content: 'Yea', tool_calls: [] }, ...userMessages];
    assert.equal((await postJson(server, CHAT, chatBody({ messages: empty }))).status, 200);
  });

  test('stream_options without stream -> 400 naming stream_options', async () => {
    for (const extra of [{}, { stream: false }]) {
      assertError(await postJson(server, CHAT, chatBody({ ...extra, stream_options: { include_usage: true } })), 400,
        { param: 'stream_options' });
    }
  });

  // The engine itself refuses this one (the API layer does not know the vocabulary): its failure
  // reaches HTTP as a category and a field, not as text to be parsed.
  test('a token id outside the vocabulary -> 400 with the engine\'s field as param', async () => {
    const error = assertError(await postJson(server, COMPLETIONS, completionBody({ prompt: [1, 2, 999999] })), 400,
      { param: 'prompt' });
    assert.match(error.message, /^prompt\[2\]: token id 999999 is outside the vocabulary/, error.message);
    await assertAlive(server);
  });

  test('too many tokens asked for -> 400 naming the field and the context as the limit', async () => {
    for (const field of ['max_tokens', 'max_completion_tokens']) {
      for (const value of [100000, 9007199254740991]) {
        const error = assertError(await postJson(server, CHAT, chatBody({ max_tokens: undefined, [field]: value })), 400,
          { param: field });
        assert.match(error.message, new RegExp(`context of ${CONTEXT} tokens`), error.message);
        assert.doesNotMatch(error.message, /KV pool/, error.message);
      }
    }
    const error = assertError(await postJson(server, COMPLETIONS, completionBody({ max_tokens: 100000 })), 400,
      { param: 'max_tokens' });
    assert.match(error.message, /context of 512 tokens/);
    await assertAlive(server);
  });

  test('an unknown model is model_not_found everywhere; an unknown route is not', async () => {
    for (const [method, path, body] of [['POST', CHAT, chatBody({ model: 'gpt-4o' })],
      ['POST', COMPLETIONS, completionBody({ model: 'gpt-4o' })], ['GET', '/v1/models/gpt-4o']]) {
      const error = assertError(await request(server, method, path, { body }), 404, { code: 'model_not_found' });
      assert.match(error.message, /gpt-4o/);
    }
    const known = await getJson(server, `/v1/models/${modelId}`);
    assert.equal(known.status, 200);
    assert.equal(known.json.id, modelId);
    const route = assertError(await getJson(server, '/v1/nothing-here'), 404);
    assert.notEqual(route.code, 'model_not_found');
  });

  test('HEAD is GET on GET routes; 405 answers carry Allow', async () => {
    for (const path of ['/health', '/metrics', '/v1/models', `/v1/models/${modelId}`]) {
      const head = await rawHead(server, path);
      assert.match(head, /^HTTP\/1\.1 200 /, `HEAD ${path}: ${head.split('\r\n')[0]}`);
      const wrong = await request(server, 'POST', path, { body: {} });
      assertError(wrong, 405);
      assert.equal(wrong.headers.allow, 'GET, HEAD', `Allow of ${path}`);
    }
    for (const path of [CHAT, COMPLETIONS]) {
      const wrong = await request(server, 'GET', path);
      assertError(wrong, 405);
      assert.equal(wrong.headers.allow, 'POST', `Allow of ${path}`);
    }
  });

  test('an 8-MB prompt is refused at once, naming the context, and two of them do not stall /health', async () => {
    const line = 'And the LORD spake unto Moses, saying, Speak unto the children of Israel. ';
    const prompt = line.repeat(Math.floor(8_000_000 / line.length));
    const cases = [
      [COMPLETIONS, JSON.stringify(completionBody({ prompt, max_tokens: 1 })), 'prompt'],
      [CHAT, JSON.stringify(chatBody({ messages: [{ role: 'user', content: prompt }], max_tokens: 1 })), 'messages'],
    ];
    for (const [path, payload, param] of cases) {
      // Timings first, assertions after, so that a failure still shows them.
      const refused = await postLarge(server, path, payload).response;
      console.log(`# ${path}: an 8-MB prompt answered ${refused.status} ${refused.ms} ms after it was sent`);
      // /health, again and again for as long as the two are in flight: each must answer at once.
      const two = [postLarge(server, path, payload), postLarge(server, path, payload)];
      let inFlight = two.length;
      for (const p of two) p.response.finally(() => { inFlight -= 1; }).catch(() => {});
      await Promise.all(two.map((p) => p.sent));
      const healthMs = [];
      do {
        const start = Date.now();
        const health = await getJson(server, '/health', { timeoutMs: 30000 });
        healthMs.push(Date.now() - start);
        assert.equal(health.status, 200);
        await sleep(50);
      } while (inFlight > 0);
      const slowest = Math.max(...healthMs);
      console.log(`# ${path}: /health answered ${healthMs.length} times in at most ${slowest} ms ` +
        'while two 8-MB prompts were in flight');
      const answers = await Promise.all(two.map((p) => p.response));
      assert.ok(slowest < 500, `/health answered within 500 ms each time (slowest ${slowest} ms)`);
      for (const answer of [refused, ...answers]) {
        const error = assertError(answer, 400, { param });
        assert.match(error.message, new RegExp(`context of ${CONTEXT} tokens`), error.message);
      }
    }
    await assertAlive(server);
  });
});

describe('api key and busy answers', () => {
  test('401 carries WWW-Authenticate: Bearer; the right key works in any scheme case', async () => {
    const server = await startServer({ args: ['--api-key', 'k3y'] });
    try {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Bearer k3y2' },
        { authorization: 'k3y' }]) {
        const refused = await request(server, 'GET', '/v1/models', { headers });
        assertError(refused, 401, { code: 'invalid_api_key' });
        assert.equal(refused.headers['www-authenticate'], 'Bearer');
      }
      for (const scheme of ['Bearer', 'bearer']) {
        const ok = await request(server, 'GET', '/v1/models', { headers: { authorization: `${scheme} k3y` } });
        assert.equal(ok.status, 200, ok.text);
      }
      await assertAlive(server);
    } finally {
      await server.stop({ signal: 'SIGKILL' });
    }
  });

  test('429 carries Retry-After', async () => {
    // No queue beyond the running batch of 64: of 76 requests at once, some are refused.
    const server = await startServer({ args: ['--max-queue', '0'] });
    try {
      const body = completionBody({ max_tokens: 48, ignore_eos: true });
      const responses = await Promise.all(Array.from({ length: 76 }, () =>
        postJson(server, COMPLETIONS, body, { timeoutMs: 120000 })));
      const refused = responses.filter((r) => r.status === 429);
      assert.ok(refused.length > 0, `some requests refused (${responses.map((r) => r.status).join(',')})`);
      for (const r of refused) {
        assertError(r, 429);
        assert.match(r.headers['retry-after'] ?? '', /^\d+$/, 'Retry-After in seconds');
      }
      await assertAlive(server);
    } finally {
      await server.stop({ signal: 'SIGKILL' });
    }
  });
});
