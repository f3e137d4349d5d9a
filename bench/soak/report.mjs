// The soak's JSON report: per-kind outcome counts with samples of anything unexpected, latency
// percentiles of the valid requests, /health during the load, the gauges' peaks, the end state
// and the RSS summary.
import { KINDS } from './kinds.mjs';
import { msSummary, round } from './stats.mjs';

// The valid kinds that ran ([name, stats] pairs), their requests and how many completed.
export function validSummary(stats) {
  const kinds = Object.entries(stats).filter(([k]) => KINDS[k].valid);
  return {
    kinds,
    count: kinds.reduce((sum, [, s]) => sum + s.count, 0),
    complete: kinds.reduce((sum, [, s]) => sum + (s.outcomes.complete ?? 0), 0),
  };
}

// tessera_requests_total by finish reason.
function requestsByFinishReason(metrics) {
  return Object.fromEntries([...(metrics ?? [])].filter(([k]) => k.startsWith('tessera_requests_total{'))
    .map(([k, v]) => [k.match(/finish_reason="([^"]*)"/)[1], v]));
}

function kindEntries(kinds, stats) {
  return Object.fromEntries(kinds.filter((k) => stats[k]).map((k) => {
    const s = stats[k];
    const entry = { count: s.count, outcomes: s.outcomes, unexpected: s.unexpected };
    if (s.unexpected) entry.samples = s.samples;
    if (KINDS[k].valid) {
      entry.latency_ms = msSummary(s.latencies);
      if (s.ttfts.length) entry.ttft_ms = msSummary(s.ttfts);
    }
    return [k, entry];
  }));
}

export function buildReport({ pass, checks, config, loadS, requests, valid, kinds, stats, died, health, peaks, idle,
  metricsBefore, metricsAfter, rss }) {
  const before = requestsByFinishReason(metricsBefore);
  const after = requestsByFinishReason(metricsAfter);
  return {
    pass,
    checks,
    config,
    load_s: round(loadS, 1),
    requests,
    requests_per_s: round(requests / loadS, 1),
    valid: { requests: valid.count, complete: valid.complete, latency_ms: msSummary(valid.kinds.flatMap(([, s]) => s.latencies)) },
    kinds: kindEntries(kinds, stats),
    server_died: died,
    health_during: { checks: health.count, failed: health.failed, failures: health.failures, latency_ms: msSummary(health.latencies) },
    peaks_during: peaks,
    end: { ...idle, requests_total_delta: Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)])) },
    rss_mib: rss,
  };
}
