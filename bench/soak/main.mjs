// Soak test of `tessera serve` (issue 16): --clients concurrent clients (default 64), each looping
// for --duration seconds (default 600) over a seeded, weighted random mix of valid streamed and
// non-streamed requests, cancellations, client-side timeouts, malformed bodies and the hostile
// requests of issue 16 (kinds.mjs), while the server's RSS, /health and /metrics are sampled
// (monitor.mjs). At the end it waits for the server to go idle and checks (checks.mjs):
//   no_crash            the process is alive and /health answers {"status":"ok"};
//   valid_complete      every valid request finished (200, every token, usage, [DONE]);
//   expected_outcomes   every other request got its expected outcome (status code, framing);
//   health_during       every periodic /health during the load answered 200 within 10 s;
//   kv_blocks_returned  once idle: tessera_kv_blocks_used, running sequences, queue depth and
//                       active streams are all 0;
//   rss_flat            RSS after warm-up did not grow (see rss.mjs for the rule and why).
// Prints one JSON object (report.mjs) and a one-line verdict on stderr; exits 1 if any check
// fails.
//
//   node bench/soak/main.mjs --url http://127.0.0.1:PORT --pid PID [--clients 64] [--duration 600]
//       [--seed 1] [--cases a,b] [--exclude a,b] [--max-body-bytes N] [--idle-timeout 60]
//       [--allowed-origin http://localhost:3000] [--list-cases]
//
// --max-body-bytes must be the server's own limit: the oversized-body case sends one byte more,
// and the deep-nesting and huge-prompt cases stay under it. --allowed-origin must be the origin
// the server allows (--allowed-origins), for the CORS case. bench/run_soak.sh starts the server
// and passes all three. Traffic goes only to --url (loopback); every request and every loop is bounded
// in time. Node built-ins only.
import { parseArgs } from 'node:util';

import { buildHostileBodies } from './bodies.mjs';
import { evaluateChecks, verdictLine } from './checks.mjs';
import { runClient } from './clients.mjs';
import { httpCall, parseJson } from './http_client.mjs';
import { KINDS, selectedKinds } from './kinds.mjs';
import { closeMonitor, monitor, monitorCall, readMetrics, waitForIdle } from './monitor.mjs';
import { buildReport, validSummary } from './report.mjs';
import { rssSummary } from './rss.mjs';
import { elapsedS, endSoon, target, VALID_TIMEOUT_MS } from './run_state.mjs';
import { died, liveness, noteDeath } from './server_process.mjs';
import { stats, totalRequests } from './tally.mjs';

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
    'allowed-origin': { type: 'string', default: 'http://localhost:3000' },
    'list-cases': { type: 'boolean', default: false },
  },
});

async function servedModel() {
  const r = await httpCall({ agent: false }, 'GET', '/v1/models', { timeoutMs: 10000 });
  if (r.status !== 200) throw new Error(`/v1/models answered ${r.status ?? r.error}: ${r.text}`);
  return r.json.data[0].id;
}

function listCases() {
  for (const [name, k] of Object.entries(KINDS)) console.log(`${name}\t${k.weight}\t${k.valid ? 'valid' : 'hostile'}\texpect: ${k.expect.join(' | ')}`);
}

// Points the soak at --url (loopback only) and --pid.
function setTarget() {
  if (!args.url) throw new Error('--url is required');
  const url = new URL(args.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('the soak only talks to loopback');
  Object.assign(target, { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), url: url.origin,
    pid: args.pid ? Number(args.pid) : null, allowedOrigin: args['allowed-origin'] });
}

async function main() {
  if (args['list-cases']) return listCases();
  setTarget();
  const kinds = selectedKinds(args.cases, args.exclude);
  const clients = Number(args.clients);
  const durationS = Number(args.duration);
  const seed = Number(args.seed);
  target.modelId = await servedModel();
  const hostile = buildHostileBodies(Number(args['max-body-bytes']));

  const metricsBefore = await readMetrics();
  const endAt = performance.now() + durationS * 1000;
  const series = [];
  process.stderr.write(`soak: ${clients} clients for ${durationS} s, seed ${args.seed}, cases: ${kinds.join(', ')}\n`);
  const monitoring = monitor(endAt, series);
  // Clients finish the request they are in at the end; each is bounded (VALID_TIMEOUT_MS), and
  // this is the bound on all of them together.
  const drainCap = setTimeout(endSoon, durationS * 1000 + VALID_TIMEOUT_MS + 30000);
  await Promise.all(Array.from({ length: clients }, (_, i) => runClient(i, kinds, endAt, seed)));
  clearTimeout(drainCap);
  const loadS = elapsedS();
  const { health, peaks } = await monitoring;
  if (!died && liveness() !== 'alive') noteDeath(liveness());

  const idle = died ? { idle: false, state: null } : await waitForIdle(Number(args['idle-timeout']));
  const metricsAfter = died ? null : await readMetrics();
  const finalHealth = died ? { error: died.reason } : await monitorCall('/health');
  const alive = !died && liveness() === 'alive' && finalHealth.status === 200 && parseJson(finalHealth.text)?.status === 'ok';
  closeMonitor();

  const requests = totalRequests();
  const valid = validSummary(stats);
  const rss = rssSummary(series, requests / loadS);
  const { checks, pass } = evaluateChecks({ alive, died, stats, valid, health, idle, rss });
  const config = { clients, duration_s: durationS, seed, max_body_bytes: Number(args['max-body-bytes']),
    cases: kinds, deep_nesting_depth: hostile.depth, model: target.modelId };
  console.log(JSON.stringify(buildReport({ pass, checks, config, loadS, requests, valid, kinds, stats, died, health, peaks,
    idle, metricsBefore, metricsAfter, rss }), null, 1));
  process.stderr.write(verdictLine({ pass, checks, requests, loadS, valid, died, stats, idle, rss }));
  process.exitCode = pass ? 0 : 1;
}

await main();
