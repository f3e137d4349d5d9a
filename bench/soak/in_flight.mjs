// What the clients are doing right now, for the report of a crash: the request that killed the
// server is among those in flight when it died.
import { round } from './stats.mjs';
import { elapsedS } from './run_state.mjs';

const clients = [];  // each client's ctx: { kind, what } while a request runs
const recentlyStarted = [];  // the last kinds started

export function registerClient(index, ctx) {
  clients[index] = ctx;
}

export function noteStarted(kind) {
  recentlyStarted.push({ kind, at_s: round(elapsedS(), 2) });
  if (recentlyStarted.length > 32) recentlyStarted.shift();
}

// { 'kind: variant': count } over the requests in flight, and the last twelve kinds started.
export function inFlightNow() {
  const inFlight = {};
  for (const c of clients) {
    if (!c?.kind) continue;
    const key = c.what ? `${c.kind}: ${c.what}` : c.kind;
    inFlight[key] = (inFlight[key] ?? 0) + 1;
  }
  return { in_flight: inFlight, recently_started: recentlyStarted.slice(-12) };
}
