// The server's process, read from /proc: whether it is alive, its RSS, and the record of its
// death, which stops the run at once.
import fs from 'node:fs';

import { inFlightNow } from './in_flight.mjs';
import { elapsedS, endSoon, target } from './run_state.mjs';
import { round } from './stats.mjs';

function procStatus() {
  try {
    return fs.readFileSync(`/proc/${target.pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

// 'alive', or why not: the process is gone or a zombie (exited, not yet reaped by its parent).
export function liveness() {
  if (!target.pid) return 'alive';
  const status = procStatus();
  if (!status) return 'process gone';
  const state = status.match(/^State:\s+(\S)/m)?.[1];
  return state === 'Z' || state === 'X' ? 'process exited (zombie)' : 'alive';
}

// VmRSS (or another /proc field) in KiB; NaN when unreadable.
export const rssKib = (field = 'VmRSS') => Number(procStatus()?.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1] ?? NaN);

// Set once, by the first noteDeath: { at_s, reason, in_flight, recently_started }.
export let died = null;

export function noteDeath(reason) {
  if (died) return;
  died = { at_s: round(elapsedS(), 2), reason, ...inFlightNow() };
  process.stderr.write(`soak: the server died at ${died.at_s} s (${reason}); in flight: ${JSON.stringify(died.in_flight)}\n`);
  endSoon();
}
