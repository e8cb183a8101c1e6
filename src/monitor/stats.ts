// Statistical tests and distances for data drift between a reference sample
// and a current one, as Evidently defines them:
// - two-sample Kolmogorov–Smirnov (numeric; p-value from the Kolmogorov
//   distribution with Stephens' small-sample correction),
// - chi-square goodness of fit of the current category counts against the
//   reference frequencies (categorical; p-value from @stdlib's chi-square CDF),
// - Wasserstein-1 distance normalised by the reference's standard deviation
//   (numeric),
// - Jensen–Shannon distance (natural log) of binned frequencies,
// - population stability index (PSI) of binned frequencies.
// Empty bins get a small share (0.0001) as Evidently does, so logs stay finite.
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';

const EMPTY_BIN = 0.0001;

/** Survival function of the Kolmogorov distribution: P(K > λ). */
function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

/** Two-sample KS test: the statistic D (largest gap between the empirical CDFs) and its p-value. */
export function ksTest(a: readonly number[], b: readonly number[]): { statistic: number; pValue: number } {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const n = x.length;
  const m = y.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < n && x[i]! <= v) i++;
    while (j < m && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovQ((en + 0.12 + 0.11 / en) * d) };
}

/** Counts of each value. */
export function counts(values: readonly string[]): Map<string, number> {
  const c = new Map<string, number>();
  for (const v of values) c.set(v, (c.get(v) ?? 0) + 1);
  return c;
}

/** Chi-square test of the current counts against the reference frequencies (categories of both). */
export function chiSquareTest(reference: readonly string[], current: readonly string[]): { statistic: number; pValue: number } {
  const ref = counts(reference);
  const cur = counts(current);
  const keys = [...new Set([...ref.keys(), ...cur.keys()])];
  let stat = 0;
  for (const k of keys) {
    const expected = Math.max((ref.get(k) ?? 0) / reference.length, EMPTY_BIN) * current.length;
    const observed = cur.get(k) ?? 0;
    stat += (observed - expected) ** 2 / expected;
  }
  const dof = Math.max(1, keys.length - 1);
  return { statistic: stat, pValue: 1 - chisquareCdf(stat, dof) };
}

/** Wasserstein-1 distance between two empirical distributions: ∫|F_a − F_b|. */
export function wasserstein(a: readonly number[], b: readonly number[]): number {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const all = Float64Array.from([...x, ...y]).sort();
  let i = 0;
  let j = 0;
  let total = 0;
  for (let k = 0; k < all.length - 1; k++) {
    const v = all[k]!;
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    total += Math.abs(i / x.length - j / y.length) * (all[k + 1]! - v);
  }
  return total;
}

export function std(values: readonly number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

/** Wasserstein distance in units of the reference's standard deviation (Evidently's "normed"). */
export function wassersteinNormed(reference: readonly number[], current: readonly number[]): number {
  return wasserstein(reference, current) / Math.max(std(reference), 0.001);
}

/** Shares per bin with empty bins lifted to a small share. */
function shares(binCounts: readonly number[]): number[] {
  const total = binCounts.reduce((s, c) => s + c, 0);
  return binCounts.map((c) => (total === 0 || c === 0 ? EMPTY_BIN : c / total));
}

/** Jensen–Shannon distance (√ of the divergence, natural log) between two binned samples. */
export function jensenShannon(refBins: readonly number[], curBins: readonly number[]): number {
  const p = shares(refBins);
  const q = shares(curBins);
  const sp = p.reduce((s, v) => s + v, 0);
  const sq = q.reduce((s, v) => s + v, 0);
  let div = 0;
  for (let k = 0; k < p.length; k++) {
    const a = p[k]! / sp;
    const b = q[k]! / sq;
    const m = (a + b) / 2;
    div += (a * Math.log(a / m) + b * Math.log(b / m)) / 2;
  }
  return Math.sqrt(Math.max(0, div));
}

/** Population stability index between two binned samples. */
export function psi(refBins: readonly number[], curBins: readonly number[]): number {
  const p = shares(refBins);
  const q = shares(curBins);
  let total = 0;
  for (let k = 0; k < p.length; k++) total += (p[k]! - q[k]!) * Math.log(p[k]! / q[k]!);
  return total;
}

/** Equal-width bin edges over both samples (Sturges' rule on their combined size, as numpy's "sturges"). */
export function binEdges(a: readonly number[], b: readonly number[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  for (const v of b) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  if (lo === hi) (lo -= 0.5), (hi += 0.5);
  const bins = Math.ceil(Math.log2(a.length + b.length) + 1);
  return Array.from({ length: bins + 1 }, (_, k) => lo + ((hi - lo) * k) / bins);
}

/** Counts per bin; the last bin includes its right edge. */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  const out = new Array<number>(bins).fill(0);
  const lo = edges[0]!;
  const width = (edges[bins]! - lo) / bins;
  for (const v of values) out[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]!++;
  return out;
}
