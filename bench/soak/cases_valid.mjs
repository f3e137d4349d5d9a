// The valid requests, and valid requests whose clients give up: cancelled streams, client-side
// timeouts, bodies abandoned halfway, readers that stall. Each case returns { outcome, detail? }
// (see kinds.mjs); the valid ones also { latency }.
import { sleep } from '../../tests/node/harness.mjs';
import { ENDPOINT_PATH, validBody } from './bodies.mjs';
import { httpCall, streamCall } from './http_client.mjs';
import { describe, rawRequest, SoakConnection } from './raw_http.mjs';
import { VALID_TIMEOUT_MS } from './run_state.mjs';

// The checks a valid completion must pass, streamed or not; null when it is complete.
function validProblem({ finishReason, usage, maxTokens, ignoreEos }) {
  if (!['stop', 'length'].includes(finishReason)) return `finish_reason ${finishReason}`;
  if (!usage || typeof usage.completion_tokens !== 'number') return 'no usage';
  if (ignoreEos ? usage.completion_tokens !== maxTokens : usage.completion_tokens > maxTokens) {
    return 'wrong token count';
  }
  return null;
}

export async function validStream(ctx, endpoint) {
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

export async function validPlain(ctx, endpoint) {
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
export async function cancelStream(ctx) {
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  const body = validBody(ctx, endpoint, { max_tokens: 200, ignore_eos: true, stream: true });
  const when = ctx.rand.chance(0.25) ? { cancelAfterMs: ctx.rand.int(1, 300) } : { cancelAfterEvents: ctx.rand.int(1, 40) };
  const r = await streamCall(ctx, ENDPOINT_PATH[endpoint], body, when);
  if (r.cancelled) return { outcome: 'cancelled' };
  if (r.status === 200 && r.done && !r.error) return { outcome: 'complete' };
  return { outcome: r.status && r.status !== 200 ? `status ${r.status}` : (r.error ?? 'no [DONE]'), detail: r.text.slice(0, 200) || r.error };
}

// A non-streamed request whose client gives up after a random time.
export async function clientTimeout(ctx) {
  const endpoint = ctx.rand.pick(['chat', 'completion']);
  const r = await httpCall(ctx, 'POST', ENDPOINT_PATH[endpoint], {
    body: validBody(ctx, endpoint, { max_tokens: 120, ignore_eos: true }), timeoutMs: ctx.rand.int(20, 2000),
  });
  if (r.error === 'timeout') return { outcome: 'timed out' };
  if (r.status === 200) return { outcome: 'complete' };
  return { outcome: r.error ? 'connection error' : `status ${r.status}`, detail: r.error ?? r.text.slice(0, 200) };
}

// Half a body, then the client vanishes.
export async function abandonBody(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', { max_tokens: 8 }));
  const conn = new SoakConnection();
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
export async function stalledReader(ctx) {
  const body = JSON.stringify(validBody(ctx, 'chat', {
    max_tokens: 300, ignore_eos: true, stream: true, logprobs: true, top_logprobs: 20,
  }));
  const conn = new SoakConnection();
  try {
    await conn.write(rawRequest('POST', ENDPOINT_PATH.chat, { body }));
    conn.socket.pause();
    await sleep(ctx.rand.int(1000, 5000));
    return { outcome: conn.closed ? 'dropped by server' : 'stalled' };
  } finally {
    conn.destroy();
  }
}
