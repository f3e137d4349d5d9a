// One soak client: a loop over the weighted mix until the end of the run, each request's outcome
// recorded. Each client has its own keep-alive pool (as SDK clients do) and its own seeded
// random sequence.
import http from 'node:http';

import { sleep } from '../../tests/node/harness.mjs';
import { wrongTypeCases } from './cases_hostile_api.mjs';
import { noteStarted, registerClient } from './in_flight.mjs';
import { isExpected, KINDS } from './kinds.mjs';
import { Random } from './random.mjs';
import { stop } from './run_state.mjs';
import { liveness, noteDeath } from './server_process.mjs';
import { record } from './tally.mjs';

export async function runClient(index, kinds, endAt, seed) {
  const ctx = {
    rand: new Random(seed * 1000003 + index),
    agent: new http.Agent({ keepAlive: true, maxSockets: 2 }),
    wrongTypeCases: wrongTypeCases(),
    kind: null,
    what: null,
  };
  registerClient(index, ctx);
  const total = kinds.reduce((sum, k) => sum + KINDS[k].weight, 0);
  const pick = () => {
    let r = ctx.rand.next() * total;
    for (const k of kinds) if ((r -= KINDS[k].weight) < 0) return k;
    return kinds.at(-1);
  };
  await sleep(index * 25);  // a ramp, not 64 connections in the same millisecond
  while (!stop.signal.aborted && performance.now() < endAt) {
    const kind = pick();
    ctx.kind = kind;
    ctx.what = null;
    noteStarted(kind);
    let result;
    try {
      result = await KINDS[kind].run(ctx);
    } catch (error) {
      result = { outcome: 'soak error', detail: error.stack?.slice(0, 300) ?? String(error) };
    }
    // A connection refused or reset may be the server dying: look before counting an unexpected
    // outcome (a moment later: a process that aborts closes its sockets before it is gone), so
    // that the requests a crash cut off are reported with the crash, not as outcomes of their own.
    if (!isExpected(kind, result.outcome)) await sleep(200);
    if (liveness() !== 'alive') noteDeath(liveness());
    if (!stop.signal.aborted) record(kind, result, ctx.what);
    ctx.kind = null;
  }
  ctx.agent.destroy();
}
