// HTTP/1.x as clients really speak it, over raw sockets against `tessera serve`: pipelined
// requests and stray CRLFs, HEAD, `Expect: 100-continue`, HTTP/1.0, half-closed connections,
// CORS, and a handler that throws. After each case the server must still answer /health.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  RawConnection, getJson, modelId, readMetrics, request, startServer, streamRequest, waitFor, waitForIdle,
} from './harness.mjs';

const CHAT = '/v1/chat/completions';
const chatBody = (extra = {}) => ({
  model: modelId, messages: [{ role: 'user', content: 'And the LORD spake unto Moses' }], max_tokens: 8, ...extra,
});
const CANCELLED = 'tessera_requests_total{finish_reason="cancelled"}';

// One request's bytes; `body` (an object) is sent as JSON with its Content-Length.
function requestText(method, path, { body, headers = {}, version = '1.1' } = {}) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const lines = [`${method} ${path} HTTP/${version}`, 'Host: localhost', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`);
  return `${lines.join('\r\n')}\r\n\r\n${payload}`;
}

async function assertHealthy(server) {
  const response = await getJson(server, '/health', { timeoutMs: 10000 });
  assert.deepEqual(response.json, { status: 'ok' }, 'the server still answers /health');
}

const json = (response) => JSON.parse(response.body.toString('utf8'));

describe('HTTP protocol', () => {
  let server;

  before(async () => {
    server = await startServer({ args: ['--max-body-bytes', '65536'] });
  });

  after(async () => {
    if (server) await server.stop({ signal: 'SIGKILL' });
  });

  test('pipelined requests are answered in order on one connection', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(requestText('GET', '/health') + requestText('POST', CHAT, { body: chatBody() }) +
        requestText('GET', '/v1/models') + requestText('GET', '/health'));
      assert.deepEqual(json(await connection.response()), { status: 'ok' });
      const chat = await connection.response({ timeoutMs: 30000 });
      assert.equal(chat.status, 200, chat.body.toString());
      assert.equal(json(chat).object, 'chat.completion');
      assert.equal(json(await connection.response()).object, 'list');
      assert.deepEqual(json(await connection.response()), { status: 'ok' });
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('a request sent while a completion runs is answered after it', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(requestText('POST', CHAT, { body: chatBody({ max_tokens: 200, ignore_eos: true }) }));
      await waitFor(async () => (await readMetrics(server)).get('tessera_running_sequences') >= 1,
        { timeoutMs: 10000, intervalMs: 10, what: 'the completion to run' });
      connection.write(requestText('GET', '/health'));
      const chat = await connection.response({ timeoutMs: 30000 });
      assert.equal(chat.status, 200, chat.body.toString());
      assert.equal(json(chat).usage.completion_tokens, 200);
      assert.deepEqual(json(await connection.response()), { status: 'ok' });
    } finally {
      connection.destroy();
    }
    await waitForIdle(server);
    await assertHealthy(server);
  });

  test('CRLFs before a request and after a POST body are ignored (RFC 9112 section 2.2)', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(`\r\n\r\n${requestText('POST', CHAT, { body: chatBody() })}\r\n`);
      assert.equal((await connection.response({ timeoutMs: 30000 })).status, 200);
      connection.write(requestText('GET', '/health'));
      assert.deepEqual(json(await connection.response()), { status: 'ok' });
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('a client that sent a stray byte and then vanished has its request cancelled', async () => {
    const before = await readMetrics(server);
    const connection = await RawConnection.open(server);
    connection.write(`${requestText('POST', CHAT, { body: chatBody({ max_tokens: 480, ignore_eos: true }) })}\r\n`);
    try {
      await waitFor(async () => (await readMetrics(server)).get('tessera_running_sequences') >= 1,
        { timeoutMs: 10000, intervalMs: 10, what: 'the completion to run' });
    } finally {
      connection.destroy();
    }
    await waitFor(async () => (await readMetrics(server)).get(CANCELLED) === before.get(CANCELLED) + 1,
      { timeoutMs: 10000, what: 'the request to be counted as cancelled' });
    await waitForIdle(server);
    await assertHealthy(server);
  });

  test('HEAD: the header (with the length a GET would get), no body; the connection goes on', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(requestText('HEAD', '/health') + requestText('GET', '/health'));
      const head = await connection.response({ head: true });
      assert.ok(Number(head.headers['content-length']) > 0, 'HEAD carries the Content-Length');
      const next = await connection.response();
      assert.equal(next.status, 200, `the response after HEAD parses: ${next.status}`);
      assert.deepEqual(json(next), { status: 'ok' });
      assert.equal((await connection.bytesWithin(100)).length, 0, 'nothing after the two responses');
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('Expect: 100-continue is answered before the body is sent', async () => {
    const connection = await RawConnection.open(server);
    try {
      const body = JSON.stringify(chatBody());
      connection.write(`POST ${CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`);
      assert.equal(await connection.interimResponse({ timeoutMs: 5000 }), 100);
      connection.write(body);
      const response = await connection.response({ timeoutMs: 30000 });
      assert.equal(response.status, 200);
      assert.equal(json(response).object, 'chat.completion');
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('Expect: 100-continue with a body over the limit gets 413 at once, no 100', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(`POST ${CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        'Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n');
      const response = await connection.response({ timeoutMs: 5000 });
      assert.equal(response.status, 413);
      assert.deepEqual(response.interim, []);
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('HTTP/1.0: a stream is not chunked and ends with the connection', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(requestText('POST', CHAT, { body: chatBody({ stream: true }), version: '1.0' }));
      const response = await connection.response({ timeoutMs: 30000 });
      assert.equal(response.status, 200);
      assert.equal(response.headers['transfer-encoding'], undefined, 'no Transfer-Encoding to HTTP/1.0');
      assert.match(response.headers.connection ?? '', /close/i);
      assert.match(response.body.toString(), /data: \[DONE\]\n\n$/);
      assert.ok(await connection.closedWithin(5000), 'the server closed the connection');
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('HTTP/1.0: a whole response has a Content-Length; keep-alive when asked for', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(requestText('GET', '/health', { version: '1.0', headers: { Connection: 'keep-alive' } }));
      const first = await connection.response();
      assert.equal(first.headers['transfer-encoding'], undefined);
      assert.equal(Number(first.headers['content-length']), first.body.length);
      assert.match(first.headers.connection ?? '', /keep-alive/i);
      connection.write(requestText('GET', '/health', { version: '1.0' }));
      assert.deepEqual(json(await connection.response()), { status: 'ok' });
      assert.ok(await connection.closedWithin(5000), 'closed after a request without keep-alive');
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('a client that half-closes after its request still gets the whole answer', async () => {
    for (const stream of [false, true]) {
      const connection = await RawConnection.open(server);
      try {
        connection.write(requestText('POST', CHAT, { body: chatBody({ max_tokens: 32, ignore_eos: true, stream }) }));
        connection.halfClose();
        const response = await connection.response({ timeoutMs: 30000 });
        assert.equal(response.status, 200, response.body.toString());
        if (stream) assert.match(response.body.toString(), /data: \[DONE\]\n\n$/);
        else assert.equal(json(response).usage.completion_tokens, 32);
        assert.ok(await connection.closedWithin(5000), 'then the server closes');
      } finally {
        connection.destroy();
      }
    }
    await waitForIdle(server);
    await assertHealthy(server);
  });

  test('a pipelining client that half-closes gets every answer', async () => {
    const connection = await RawConnection.open(server);
    try {
      connection.write(requestText('POST', CHAT, { body: chatBody() }) + requestText('GET', '/health'));
      connection.halfClose();
      assert.equal((await connection.response({ timeoutMs: 30000 })).status, 200);
      assert.deepEqual(json(await connection.response()), { status: 'ok' });
      assert.ok(await connection.closedWithin(5000));
    } finally {
      connection.destroy();
    }
    await assertHealthy(server);
  });

  test('no CORS headers without --allowed-origins', async () => {
    const response = await getJson(server, '/health', { headers: { origin: 'https://app.example' } });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  test('a request whose handling throws gets an error answer, the server stays up', async () => {
    // 1e400 overflows a double: the JSON library throws while the body is read.
    const body = `{"model":"${modelId}","messages":[{"role":"user","content":"x"}],"temperature":1e400}`;
    const response = await request(server, 'POST', CHAT, { body, timeoutMs: 10000 });
    assert.ok([400, 500].includes(response.status), `400 or 500, got ${response.status}: ${response.text}`);
    assert.ok(response.json?.error?.message, response.text);
    await assertHealthy(server);
  });
});

describe('CORS', () => {
  let server;
  const ORIGIN = 'https://app.example';
  const KEY = 'sesame';
  const auth = { authorization: `Bearer ${KEY}` };

  before(async () => {
    server = await startServer({
      args: ['--allowed-origins', `${ORIGIN},http://localhost:3000`, '--allowed-origins', 'http://127.0.0.1:8080',
        '--api-key', KEY],
    });
  });

  after(async () => {
    if (server) await server.stop({ signal: 'SIGKILL' });
  });

  test('a preflight from an allowed origin is answered before authentication', async () => {
    const response = await request(server, 'OPTIONS', CHAT, {
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(response.status, 204, response.text);
    assert.equal(response.headers['access-control-allow-origin'], ORIGIN);
    assert.match(response.headers['access-control-allow-methods'], /POST/);
    assert.match(response.headers['access-control-allow-headers'], /authorization/i);
    assert.match(response.headers['access-control-allow-headers'], /content-type/i);
    assert.ok(Number(response.headers['access-control-max-age']) > 0);
    assert.match(response.headers.vary ?? '', /Origin/);
    assert.equal(response.text, '');
  });

  test('a preflight from another origin -> 403 without CORS headers', async () => {
    const response = await request(server, 'OPTIONS', CHAT, {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(response.status, 403);
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  test('answers to an allowed origin carry Access-Control-Allow-Origin and Vary', async () => {
    const models = await getJson(server, '/v1/models', { headers: { origin: 'http://127.0.0.1:8080', ...auth } });
    assert.equal(models.status, 200);
    assert.equal(models.headers['access-control-allow-origin'], 'http://127.0.0.1:8080');
    assert.match(models.headers.vary ?? '', /Origin/);

    // The error a browser page must be able to read, and a stream.
    const refused = await getJson(server, '/v1/models', { headers: { origin: ORIGIN } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['access-control-allow-origin'], ORIGIN);
    assert.match(refused.headers['access-control-expose-headers'] ?? '', /WWW-Authenticate/);
    const stream = await streamRequest(server, CHAT, chatBody({ stream: true }), { headers: { origin: ORIGIN, ...auth } });
    assert.equal(stream.status, 200);
    assert.ok(stream.done);
    assert.equal(stream.headers['access-control-allow-origin'], ORIGIN);

    const other = await getJson(server, '/v1/models', { headers: { origin: 'https://evil.example', ...auth } });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    await assertHealthy(server);
  });

  test('--allowed-origins refuses what is not an origin, naming the flag', async () => {
    for (const bad of ['app.example', 'https://app.example/path', 'ftp//x', '']) {
      await assert.rejects(startServer({ args: ['--allowed-origins', bad], readyTimeoutMs: 30000 }),
        /--allowed-origins/, `'${bad}' refused`);
    }
  });
});
