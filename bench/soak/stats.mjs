// Percentiles and rounding for the report.
export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (x, digits = 2) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

export const msSummary = (values) => ({ p50: round(percentile(values, 50), 1), p99: round(percentile(values, 99), 1), n: values.length });

// Least-squares slope of [x, y] points.
export function linearSlope(points) {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : 0;
}
