// The soak's pass/fail checks (see main.mjs for what each means) and the one-line verdict.
import { isExpected } from './kinds.mjs';
import { round } from './stats.mjs';

// `valid`: { kinds (the valid kinds that ran, [name, stats] pairs), count, complete }.
// A check is null when it does not apply (valid_complete when --cases left out every valid
// kind, rss_flat without a pid or with too few samples).
export function evaluateChecks({ alive, died, stats, valid, health, idle, rss }) {
  const checks = {
    no_crash: alive,
    valid_complete: valid.kinds.length || died ? valid.complete === valid.count && !died : null,
    expected_outcomes: Object.values(stats).every((s) => s.unexpected === 0) && !died,
    health_during: health.failed === 0 && !died,
    kv_blocks_returned: idle.idle === true && idle.state?.kv_blocks_used === 0,
    rss_flat: rss.checked ? rss.flat : null,
  };
  return { checks, pass: Object.values(checks).every((v) => v !== false) };
}

// "soak: PASS: ..." or "soak: FAIL (checks): ...", with the unexpected outcomes of each kind;
// run_soak.sh's triage reads it.
export function verdictLine({ pass, checks, requests, loadS, valid, died, stats, idle, rss }) {
  const failed = Object.entries(checks).filter(([, v]) => v === false).map(([k]) => k);
  const oddKinds = Object.entries(stats).filter(([, s]) => s.unexpected)
    .map(([k, s]) => `${k} ${JSON.stringify(Object.fromEntries(Object.entries(s.outcomes).filter(([o]) => !isExpected(k, o))))}`);
  return `soak: ${pass ? 'PASS' : `FAIL (${failed.join(', ')})`}: ${requests} requests in ${round(loadS, 0)} s, ` +
    `${valid.kinds.length ? `${valid.complete}/${valid.count} valid complete` : 'no valid kinds selected'}` +
    `${died ? `; server died at ${died.at_s} s (${died.reason}) with in flight ${JSON.stringify(died.in_flight)}` : ''}` +
    `${oddKinds.length ? `; unexpected: ${oddKinds.join('; ')}` : ''}` +
    `${idle.state ? `; at the end kv_blocks_used ${idle.state.kv_blocks_used}, running ${idle.state.running_sequences}` : ''}` +
    `${rss.checked ? `; rss ${rss.baseline_median_mib} -> ${rss.final_median_mib} MiB (allowance ${rss.allowance_mib})` : ''}\n`;
}
