// "RSS flat after warm-up", from the series of [s, MiB] samples the monitor took.
//
// The first 20% of the run is warm-up: allocator arenas, the I/O threads' buffers and the KV
// pool's pages are touched then, and RSS climbs to the high-water mark of the mix. After it,
// the median of the next 20% of samples is the baseline and the median of the last 20% must not
// exceed it by more than max(10%, 16 MiB). Medians, because RSS moves with whatever happens to
// be in flight (a 1.5-MB body here, twenty streams there); the allowance, because glibc keeps
// freed memory in per-thread arenas and hands it back only sometimes, so a few MiB of drift is
// normal. A leak is linear in requests: the summary gives the smallest leak per request the
// rule would catch (allowance / requests in between), and the slope.
import { target } from './run_state.mjs';
import { rssKib } from './server_process.mjs';
import { linearSlope, percentile, round } from './stats.mjs';

export function rssSummary(series, requestsPerSecond) {
  if (!target.pid) return { checked: false, why: 'no --pid' };
  if (series.length < 10) return { checked: false, why: `${series.length} samples: too short a run` };
  const t0 = series[0][0];
  const span = series.at(-1)[0] - t0;
  const window = (from, to) => series.filter(([t]) => t - t0 >= from * span && t - t0 <= to * span).map(([, v]) => v);
  const baseline = percentile(window(0.2, 0.4), 50);
  const final = percentile(window(0.8, 1.0), 50);
  const allowance = Math.max(0.1 * baseline, 16);
  const growth = final - baseline;
  const after = series.filter(([t]) => t - t0 >= 0.2 * span);
  const slope = linearSlope(after);  // MiB per second
  const between = 0.5 * span * requestsPerSecond;  // requests from the baseline's middle to the end's
  return {
    checked: true,
    samples: series.length,
    warmup_s: round(0.2 * span, 1),
    first_mib: round(series[0][1], 1),
    baseline_median_mib: round(baseline, 1),
    final_median_mib: round(final, 1),
    max_mib: round(Math.max(...series.map(([, v]) => v)), 1),
    growth_mib: round(growth, 1),
    allowance_mib: round(allowance, 1),
    slope_mib_per_min_after_warmup: round(slope * 60, 2),
    detectable_leak_bytes_per_request: between > 0 ? Math.round((allowance * 1048576) / between) : null,
    hwm_mib: round(rssKib('VmHWM') / 1024, 1),
    flat: growth <= allowance,
    // At most 40 points [s, MiB], evenly spread: the shape, for the record.
    series: series.filter((_, i) => i % Math.ceil(series.length / 40) === 0).map(([t, v]) => [round(t, 0), round(v, 1)]),
  };
}
