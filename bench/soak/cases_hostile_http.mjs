// HTTP/1.x as hostile or unusual clients speak it, mostly over raw sockets (issue 16 items 2-6):
// bodies over the limit, pipelining, stray CRLFs, HEAD, 405s, Expect: 100-continue, HTTP/1.0
// streams, half-closed connections and slowloris. A case with variants names the one it sends
// in `ctx.what`, so that a finding names its exact request.
import { sleep } from '../../tests/node/harness.mjs';
import { ENDPOINT_PATH, HOSTILE, validBody } from './bodies.mjs';
import { httpCall } from './http_client.mjs';
import { expectError } from './openai_error.mjs';
import { bodyJson, bodyText, describe, failureDetail, rawRequest, SoakConnection } from './raw_http.mjs';
import { ERROR_TIMEOUT_MS, INTERIM_WAIT_MS, target } from './run_state.mjs';

// Runs `body(conn)` on a fresh raw connection, closing it whatever happens.
async function onConnection(body) {
  const conn = new SoakConnection();
  try {
    return await body(conn);
  } finally {
    conn.destroy();
  }
}

// A body one byte over the limit: announced by Content-Length, or only counted (chunked), or
// announced with Expect: 100-continue (413 at once, no 100 first, and no body sent). The body
// goes out in pieces, stopping once the server has answered: writing on after its answer would
// risk a reset that destroys the answer before it is read.
export async function oversizedBody(ctx) {
  ctx.what = ctx.rand.pick(['Content-Length', 'chunked', 'Expect: 100-continue']);
  const chunked = ctx.what === 'chunked';
  const size = HOSTILE.oversized.length;
  const start = `POST ${ENDPOINT_PATH.chat} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`;
  const head = chunked ? `${start}Transfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n`
    : ctx.what === 'Content-Length' ? `${start}Content-Length: ${size}\r\n\r\n`
      : `${start}Content-Length: ${size}\r\nExpect: 100-continue\r\n\r\n`;
  return onConnection(async (conn) => {
    await conn.write(head);
    if (ctx.what === 'Expect: 100-continue') {
      const response = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
      if (response.failure) return { outcome: response.failure, detail: failureDetail(response, conn) };
      return response.interim.length ? { outcome: `status ${response.status} after ${response.interim.join(', ')}` } : { outcome: describe(response) };
    }
    const piece = 256 << 10;
    for (let at = 0; at < size && !(await conn.answered(at === 0 ? 500 : 20)); at += piece) {
      await conn.write(HOSTILE.oversized.subarray(at, Math.min(size, at + piece)));
    }
    if (chunked && !(await conn.answered(500))) await conn.write('\r\n0\r\n\r\n');
    const response = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    return { outcome: describe(response), detail: response.failure ? failureDetail(response, conn) : undefined };
  });
}

// Issue 16 item 2: requests pipelined on one connection are answered in order, whether they
// are sent together or while the first one runs.
export async function pipelined(ctx) {
  const streamFirst = ctx.rand.chance(0.5);
  const whileRunning = ctx.rand.chance(0.3);
  ctx.what = `${streamFirst ? 'stream' : 'chat'}, GET /health, completion${whileRunning ? ', the last two while the first runs' : ''}`;
  const first = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 6, ignore_eos: true, stream: streamFirst }));
  const third = JSON.stringify(validBody(ctx, 'completion', { max_tokens: 6, ignore_eos: true }));
  return onConnection(async (conn) => {
    const rest = rawRequest('GET', '/health') + rawRequest('POST', ENDPOINT_PATH.completion, { body: third });
    if (whileRunning) {
      await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body: first }));
      await sleep(ctx.rand.int(1, 50));
      await conn.write(rest);
    } else {
      await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body: first }) + rest);
    }
    const checks = [
      (r) => (streamFirst ? r.body.toString('utf8').includes('data: [DONE]') : bodyJson(r)?.object === 'chat.completion'),
      (r) => bodyJson(r)?.status === 'ok',
      (r) => bodyJson(r)?.object === 'text_completion',
    ];
    for (let i = 0; i < checks.length; i += 1) {
      const r = await conn.response();
      if (r.failure) return { outcome: `${r.failure} (response ${i + 1} of 3)`, detail: failureDetail(r, conn) };
      if (r.status !== 200) return { outcome: `status ${r.status} (response ${i + 1} of 3)`, detail: bodyText(r) };
      if (!checks[i](r)) return { outcome: `wrong body (response ${i + 1} of 3)`, detail: bodyText(r) };
    }
    return { outcome: 'ok' };
  });
}

// Issue 16 item 2: CRLFs before a request or after a POST body (RFC 9112 §2.2) are ignored,
// with the bytes sent along with the body or while the completion runs; the connection serves
// the next request.
export async function strayCrlf(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8, ignore_eos: true }));
  return onConnection(async (conn) => {
    ctx.what = ctx.rand.pick(['CRLF with the body', 'CRLF while it runs', 'CRLFs before the request']);
    if (ctx.what === 'CRLF with the body') {
      await conn.write(`${rawRequest('POST', ENDPOINT_PATH.chat, { body })}\r\n`);
    } else if (ctx.what === 'CRLFs before the request') {
      await conn.write(`\r\n\r\n${rawRequest('POST', ENDPOINT_PATH.chat, { body })}`);
    } else {
      await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body }));
      await sleep(ctx.rand.int(1, 50));
      await conn.write('\r\n');
    }
    const answer = await conn.response();
    if (answer.failure || answer.status !== 200) return { outcome: `POST: ${describe(answer)}`, detail: failureDetail(answer, conn) };
    await conn.write(rawRequest('GET', '/health'));
    const next = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    if (next.failure || next.status !== 200) return { outcome: `next request: ${describe(next)}`, detail: failureDetail(next, conn) };
    return { outcome: 'ok' };
  });
}

// Issue 16 item 3: HEAD on every GET route is a GET without the body: 200 with the headers
// (a Content-Length among them) and nothing after them, so the next response on the
// connection parses.
export async function headRequest(ctx) {
  const path = ctx.rand.pick(['/health', '/v1/models', '/metrics', `/v1/models/${target.modelId}`]);
  ctx.what = `HEAD ${path}`;
  return onConnection(async (conn) => {
    await conn.write(rawRequest('HEAD', path));
    const head = await conn.response({ head: true, timeoutMs: ERROR_TIMEOUT_MS });
    if (head.failure || head.status !== 200) return { outcome: `HEAD: ${describe(head)}`, detail: failureDetail(head, conn) };
    if (!(Number(head.headers['content-length']) > 0)) return { outcome: 'HEAD: no Content-Length', detail: JSON.stringify(head.headers) };
    await conn.write(rawRequest('GET', '/health'));
    const next = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    if (next.failure) {
      return { outcome: /garbage/.test(next.failure) ? 'HEAD response carried a body' : `next request: ${next.failure}`, detail: next.detail };
    }
    return next.status === 200 ? { outcome: 'ok' } : { outcome: `next request: status ${next.status}` };
  });
}

// Issue 16 item 3: a 405 carries the OpenAI error body and Allow: the route's methods, HEAD
// wherever GET is.
export async function methodNotAllowed(ctx) {
  const [method, path, allow] = ctx.rand.pick([['DELETE', '/health', 'GET, HEAD'], ['POST', '/metrics', 'GET, HEAD'],
    ['POST', '/v1/models', 'GET, HEAD'], ['GET', ENDPOINT_PATH.chat, 'POST'], ['PUT', ENDPOINT_PATH.completion, 'POST']]);
  ctx.what = `${method} ${path}`;
  const r = await httpCall(ctx, method, path, { body: method === 'GET' ? undefined : '{}' });
  const verdict = expectError(r, 405);
  if (verdict.outcome !== 'status 405') return verdict;
  if (!r.headers.allow) return { outcome: 'no Allow header' };
  return r.headers.allow === allow ? { outcome: 'ok' } : { outcome: 'wrong Allow', detail: `${r.headers.allow} (expected ${allow})` };
}

// Issue 16 item 4: Expect: 100-continue gets "100 Continue" before the body is sent (within
// INTERIM_WAIT_MS), then the answer.
export async function expectContinue(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 6, ignore_eos: true }));
  return onConnection(async (conn) => {
    const request = rawRequest('POST', ENDPOINT_PATH.chat, { body, headers: { Expect: '100-continue' } });
    await conn.write(request.slice(0, request.length - body.length));
    let sawContinue = false;
    if (await conn.answered(INTERIM_WAIT_MS)) {
      const interim = await conn.interimResponse({ timeoutMs: ERROR_TIMEOUT_MS });
      if (interim.failure) return { outcome: `before the body: ${interim.failure}`, detail: interim.detail };
      sawContinue = interim === 100;
    }
    // Like curl: without the interim answer, send the body anyway after a while.
    await conn.write(body);
    const final = await conn.response();
    if (final.failure || final.status !== 200) return { outcome: `after the body: ${describe(final)}`, detail: failureDetail(final, conn) };
    return { outcome: sawContinue ? 'ok' : 'no 100 Continue' };
  });
}

// Issue 16 item 5: an HTTP/1.0 client gets a stream without chunked framing (no
// Transfer-Encoding at all), with Connection: close, ended by the server closing.
export async function http10Stream(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8, ignore_eos: true, stream: true }));
  return onConnection(async (conn) => {
    await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body, version: '1.0' }));
    const r = await conn.response();
    if (r.failure || r.status !== 200) return { outcome: describe(r), detail: failureDetail(r, conn) };
    if (r.headers['transfer-encoding'] !== undefined) return { outcome: 'Transfer-Encoding to HTTP/1.0', detail: r.headers['transfer-encoding'] };
    if (!/close/i.test(r.headers.connection ?? '')) return { outcome: 'no Connection: close', detail: JSON.stringify(r.headers) };
    if (!/data: \[DONE\]\n\n$/.test(r.body.toString('utf8'))) return { outcome: 'no [DONE] at the end', detail: bodyText(r) };
    return { outcome: 'ok' };
  });
}

// Issue 16 item 6: a client that half-closes after a complete POST still gets its whole answer,
// streamed or not, and then the server closes.
export async function halfClose(ctx) {
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  const stream = ctx.rand.chance(0.5);
  ctx.what = `${endpoint}${stream ? ', streamed' : ''}`;
  const body = JSON.stringify(validBody(ctx, endpoint, { max_tokens: 6, ignore_eos: true, stream }));
  return onConnection(async (conn) => {
    await conn.write(rawRequest('POST', ENDPOINT_PATH[endpoint], { body }));
    conn.halfClose();
    const r = await conn.response();
    if (r.failure || r.status !== 200) return { outcome: describe(r), detail: failureDetail(r, conn) };
    const whole = stream ? /data: \[DONE\]\n\n$/.test(r.body.toString('utf8')) : bodyJson(r)?.usage?.completion_tokens === 6;
    if (!whole) return { outcome: 'incomplete answer', detail: bodyText(r) };
    return (await conn.closedWithin(5000)) ? { outcome: 'ok' } : { outcome: 'left open after the answer' };
  });
}

// Slowloris, bounded: a whole request trickled over 2-5 s (answered 200), or part of a head
// trickled for 1-4 s and then abandoned.
export async function slowloris(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 4 }));
  const whole = Buffer.from(rawRequest('POST', ENDPOINT_PATH.chat, { body }));
  const abandon = ctx.rand.chance(0.3);
  ctx.what = abandon ? 'abandoned mid-head' : 'whole request trickled';
  const bytes = abandon ? whole.subarray(0, ctx.rand.int(5, whole.length - body.length - 4)) : whole;
  const pieces = Math.min(bytes.length, 60);
  const gapMs = (abandon ? ctx.rand.int(1000, 4000) : ctx.rand.int(2000, 5000)) / pieces;
  return onConnection(async (conn) => {
    for (let i = 0; i < pieces; i += 1) {
      if (conn.closed) break;
      await conn.write(bytes.subarray(Math.floor((i * bytes.length) / pieces), Math.floor(((i + 1) * bytes.length) / pieces)));
      await sleep(gapMs);
    }
    if (abandon) return conn.buffer.length || conn.closed ? { outcome: `answered early: ${describe(await conn.response({ timeoutMs: 1000 }))}` } : { outcome: 'abandoned' };
    const r = await conn.response();
    return r.failure || r.status !== 200 ? { outcome: describe(r), detail: failureDetail(r, conn) } : { outcome: 'ok' };
  });
}
