// Outcome counts per kind, with a few samples of every unexpected outcome and the latencies of
// the valid requests that completed.
import { isExpected, KINDS } from './kinds.mjs';
import { elapsedS } from './run_state.mjs';
import { round } from './stats.mjs';

const SAMPLES_PER_OUTCOME = 3;

// kind → { count, outcomes, unexpected, samples, latencies, ttfts }
export const stats = {};

export function record(kind, result, what) {
  const s = (stats[kind] ??= { count: 0, outcomes: {}, unexpected: 0, samples: {}, latencies: [], ttfts: [] });
  s.count += 1;
  s.outcomes[result.outcome] = (s.outcomes[result.outcome] ?? 0) + 1;
  if (!isExpected(kind, result.outcome)) {
    s.unexpected += 1;
    const samples = (s.samples[result.outcome] ??= []);
    if (samples.length < SAMPLES_PER_OUTCOME) samples.push({ at_s: round(elapsedS(), 1), what, detail: result.detail ?? null });
  }
  if (KINDS[kind].valid && result.outcome === 'complete') {
    s.latencies.push(result.latency.ms);
    if (result.latency.ttftMs != null) s.ttfts.push(result.latency.ttftMs);
  }
}

export const totalRequests = () => Object.values(stats).reduce((sum, s) => sum + s.count, 0);
export const totalUnexpected = () => Object.values(stats).reduce((sum, s) => sum + s.unexpected, 0);
