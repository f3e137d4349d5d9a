// The server's side during and after the load: RSS every second, liveness every 250 ms, /health
// and /metrics every 2 s on a connection of their own, and the wait for it to go idle.
import http from 'node:http';

import { parseMetrics, sleep, waitFor } from '../../tests/node/harness.mjs';
import { httpCall, parseJson } from './http_client.mjs';
import { elapsedS, stop, target } from './run_state.mjs';
import { liveness, noteDeath, rssKib } from './server_process.mjs';
import { round } from './stats.mjs';
import { totalRequests, totalUnexpected } from './tally.mjs';

const monitorAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export const monitorCall = (path) => httpCall({ agent: monitorAgent }, 'GET', path, { timeoutMs: 10000 });
export const closeMonitor = () => monitorAgent.destroy();

// The Prometheus samples (a Map, see the harness's parseMetrics), or null without an answer.
export async function readMetrics() {
  const r = await monitorCall('/metrics');
  if (r.status !== 200) return null;
  try {
    return parseMetrics(r.text);
  } catch {
    return null;
  }
}

const GAUGES = {
  kv_blocks_used: 'tessera_kv_blocks_used',
  running_sequences: 'tessera_running_sequences',
  queue_depth: 'tessera_queue_depth',
  active_streams: 'tessera_active_streams',
};

// Samples until `untilMs`, pushing [s, MiB] onto `series`. Health failures are counted; a dead
// process ends the run. Resolves { health, peaks } (the gauges' highest values).
export async function monitor(untilMs, series) {
  const health = { count: 0, failed: 0, failures: [], latencies: [] };
  const peaks = Object.fromEntries(Object.keys(GAUGES).map((k) => [k, 0]));
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
        if (!target.pid && h.error && /ECONNREFUSED/.test(h.error)) noteDeath('connection refused');
      }
      if (m) for (const [key, metric] of Object.entries(GAUGES)) peaks[key] = Math.max(peaks[key], m.get(metric) ?? 0);
      if (performance.now() >= nextProgress) {
        nextProgress += 30000;
        process.stderr.write(`soak: ${Math.round(elapsedS())} s, ${totalRequests()} requests, ${totalUnexpected()} unexpected, ` +
          `rss ${round(series.at(-1)?.[1], 1)} MiB, kv blocks used ${m?.get('tessera_kv_blocks_used')}, ` +
          `running ${m?.get('tessera_running_sequences')}, queued ${m?.get('tessera_queue_depth')}\n`);
      }
    }
    await sleep(250);
  }
  return { health, peaks };
}

// Waits (at most `timeoutS`) until nothing runs, waits or streams and every KV block is free.
// Resolves { idle, state (the last seen), waited_s } or, when the process died, { idle: false,
// state, reason }.
export async function waitForIdle(timeoutS) {
  const start = performance.now();
  const waited = () => round((performance.now() - start) / 1000, 2);
  let state = null;
  let gone = null;
  const idle = (s) => s.kv_blocks_used === 0 && s.running_sequences === 0 && s.queue_depth === 0 && s.active_streams === 0;
  try {
    await waitFor(async () => {
      if ((gone = liveness()) !== 'alive') throw new Error(gone);
      const m = await readMetrics();
      if (m) {
        state = {
          kv_blocks_used: m.get('tessera_kv_blocks_used'),
          kv_blocks_total: m.get('tessera_kv_blocks_total'),
          running_sequences: m.get('tessera_running_sequences'),
          queue_depth: m.get('tessera_queue_depth'),
          active_streams: m.get('tessera_active_streams'),
        };
      }
      return state && idle(state);
    }, { timeoutMs: timeoutS * 1000, intervalMs: 250, what: 'the server to go idle' });
    return { idle: true, state, waited_s: waited() };
  } catch {
    return gone !== 'alive' ? { idle: false, state, reason: gone } : { idle: false, state, waited_s: waited() };
  }
}
