// Plain HTTP through node:http, as SDK clients speak it (keep-alive, one pool per client). Both
// calls resolve with an outcome and never reject: an error is data. Each is bounded by its
// timeout, and a request that times out is destroyed, so that no socket outlives the run (the
// harness's request() leaves it open, which would keep the soak alive against a wedged server).
import http from 'node:http';

import { requestPayload, SseParser } from '../../tests/node/harness.mjs';
import { ERROR_TIMEOUT_MS, stop, target, VALID_TIMEOUT_MS } from './run_state.mjs';

export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Resolves { status, headers, text, json, ms } or, when no response arrived, { error, ms }.
export function httpCall(ctx, method, path, { body, headers = {}, timeoutMs = ERROR_TIMEOUT_MS, agent = ctx.agent } = {}) {
  const { payload, allHeaders } = requestPayload(body, headers);
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

// A streamed POST read as Server-Sent Events. `cancelAfterEvents` destroys the connection after
// that many data events, `cancelAfterMs` that long after sending: a client that vanishes.
// Resolves { status, events, done, usage, finishReason, ttftMs, ms, cancelled, error, text }.
export function streamCall(ctx, path, body, { timeoutMs = VALID_TIMEOUT_MS, cancelAfterEvents, cancelAfterMs } = {}) {
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
