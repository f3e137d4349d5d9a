// HTTP/1.x as hostile or unusual clients speak it, over raw sockets (issue 16 items 2-6):
// bodies over the limit, pipelining, stray CRLFs, HEAD, 405s, Expect: 100-continue, HTTP/1.0
// streams, half-closed connections and slowloris. A case with variants names the one it sends
// in `ctx.what`, so that a finding names its exact request.
import { sleep } from '../../tests/node/harness.mjs';
import { ENDPOINT_PATH, HOSTILE, validBody } from './bodies.mjs';
import { httpCall } from './http_client.mjs';
import { expectError } from './openai_error.mjs';
import { bodyJson, bodyText, describe, failureDetail, rawRequest, SoakConnection } from './raw_http.mjs';
import { ERROR_TIMEOUT_MS, INTERIM_WAIT_MS } from './run_state.mjs';

// Runs `body(conn)` on a fresh raw connection, closing it whatever happens.
async function onConnection(body) {
  const conn = new SoakConnection();
  try {
    return await body(conn);
  } finally {
    conn.destroy();
  }
}

// A body one byte over the limit: announced by Content-Length, or only counted (chunked).
// The body goes out in pieces, stopping once the server has answered: writing on after its
// answer would risk a reset that destroys the answer before it is read.
export async function oversizedBody(ctx) {
  const chunked = ctx.rand.chance(0.5);
  ctx.what = chunked ? 'chunked' : 'Content-Length';
  const size = HOSTILE.oversized.length;
  const head = chunked
    ? `POST ${ENDPOINT_PATH.chat} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n`
    : `POST ${ENDPOINT_PATH.chat} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
  return onConnection(async (conn) => {
    await conn.write(head);
    const piece = 256 << 10;
    for (let at = 0; at < size && !(await conn.answered(at === 0 ? 500 : 20)); at += piece) {
      await conn.write(HOSTILE.oversized.subarray(at, Math.min(size, at + piece)));
    }
    if (chunked && !(await conn.answered(500))) await conn.write('\r\n0\r\n\r\n');
    const response = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    return { outcome: describe(response), detail: response.failure ? failureDetail(response, conn) : undefined };
  });
}

// Issue 16 item 2: requests pipelined on one connection are answered in order.
export async function pipelined(ctx) {
  const streamFirst = ctx.rand.chance(0.5);
  ctx.what = streamFirst ? 'stream, GET /health, completion' : 'chat, GET /health, completion';
  const first = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 6, ignore_eos: true, stream: streamFirst }));
  const third = JSON.stringify(validBody(ctx, 'completion', { max_tokens: 6, ignore_eos: true }));
  return onConnection(async (conn) => {
    await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body: first }) + rawRequest('GET', '/health')
      + rawRequest('POST', ENDPOINT_PATH.completion, { body: third }));
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

// Issue 16 item 2: a CRLF after a POST body (RFC 9112 §2.2) is ignored, with the bytes sent
// along with the body or while the completion runs; the connection serves the next request.
export async function strayCrlf(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8, ignore_eos: true }));
  return onConnection(async (conn) => {
    ctx.what = ctx.rand.chance(0.5) ? 'CRLF with the body' : 'CRLF while it runs';
    if (ctx.what === 'CRLF with the body') {
      await conn.write(`${rawRequest('POST', ENDPOINT_PATH.chat, { body })}\r\n`);
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

// Issue 16 item 3: a response to HEAD has no body, so the next response on the connection
// parses; /health accepts HEAD (elsewhere a 405 is fine, as long as it too has no body).
export async function headRequest(ctx) {
  const path = ctx.rand.pick(['/health', '/v1/models', '/metrics']);
  ctx.what = `HEAD ${path}`;
  return onConnection(async (conn) => {
    await conn.write(rawRequest('HEAD', path));
    const head = await conn.response({ head: true, timeoutMs: ERROR_TIMEOUT_MS });
    if (head.failure || !(head.status === 200 || (head.status === 405 && path !== '/health'))) {
      return { outcome: `HEAD ${path}: ${describe(head)}` };
    }
    await conn.write(rawRequest('GET', '/health'));
    const next = await conn.response({ timeoutMs: ERROR_TIMEOUT_MS });
    if (next.failure) {
      return { outcome: /garbage/.test(next.failure) ? 'HEAD response carried a body' : `next request: ${next.failure}`, detail: next.detail };
    }
    return next.status === 200 ? { outcome: 'ok' } : { outcome: `next request: status ${next.status}` };
  });
}

// Issue 16 item 3: a 405 names the allowed methods.
export async function methodNotAllowed(ctx) {
  const [method, path] = ctx.rand.pick([['DELETE', '/health'], ['GET', ENDPOINT_PATH.chat], ['POST', '/v1/models'],
    ['PUT', ENDPOINT_PATH.completion]]);
  ctx.what = `${method} ${path}`;
  const r = await httpCall(ctx, method, path, { body: method === 'GET' ? undefined : '{}' });
  const verdict = expectError(r, 405);
  if (verdict.outcome !== 'status 405') return verdict;
  return r.headers.allow ? { outcome: 'ok' } : { outcome: 'no Allow header' };
}

// Issue 16 item 4: Expect: 100-continue gets its interim response before the body is sent.
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

// Issue 16 item 5: an HTTP/1.0 client gets a stream without chunked framing, ended by close.
export async function http10Stream(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8, ignore_eos: true, stream: true }));
  return onConnection(async (conn) => {
    await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body, version: '1.0' }));
    const r = await conn.response();
    if (r.failure || r.status !== 200) return { outcome: describe(r), detail: failureDetail(r, conn) };
    if (/chunked/i.test(r.headers['transfer-encoding'] ?? '')) return { outcome: 'chunked to HTTP/1.0' };
    if (!r.body.toString('utf8').includes('data: [DONE]')) return { outcome: 'no [DONE]' };
    return { outcome: 'ok' };
  });
}

// Issue 16 item 6: a client that half-closes after a complete POST still gets its answer.
export async function halfClose(ctx) {
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  const body = JSON.stringify(validBody(ctx, endpoint, { max_tokens: 6, ignore_eos: true }));
  return onConnection(async (conn) => {
    await conn.write(rawRequest('POST', ENDPOINT_PATH[endpoint], { body }));
    conn.halfClose();
    const r = await conn.response();
    if (r.failure || r.status !== 200) return { outcome: describe(r), detail: failureDetail(r, conn) };
    return bodyJson(r)?.choices ? { outcome: 'ok' } : { outcome: 'wrong body', detail: bodyText(r) };
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
