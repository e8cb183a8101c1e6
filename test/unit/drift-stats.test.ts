// Drift statistics against scipy's values for the same samples (computed once
// with scipy 1.10: stats.ks_2samp, stats.wasserstein_distance, stats.chisquare,
// spatial.distance.jensenshannon, and PSI by its formula).
import { describe, expect, it } from 'vitest';
import { binEdges, chiSquareTest, histogram, jensenShannon, ksTest, psi, wasserstein, wassersteinNormed } from '../../src/monitor/stats.js';

const a = [1.2, 3.4, 2.2, 5.1, 4.4, 3.3, 2.9, 6.1, 0.5, 3.8, 4.9, 2.5, 3.1, 4.0, 5.5, 1.9, 2.8, 3.6, 4.2, 3.0];
const b = [2.2, 4.4, 3.9, 6.3, 5.1, 4.8, 3.6, 7.2, 1.9, 4.4, 5.8, 3.3, 4.6, 5.1, 6.6, 2.7, 3.9, 4.2, 5.0, 4.1, 6.0, 5.2, 3.8, 4.9, 5.5];
const ref = [...Array(30).fill('x'), ...Array(50).fill('y'), ...Array(20).fill('z')];
const cur = [...Array(20).fill('x'), ...Array(30).fill('y'), ...Array(30).fill('z')];

describe('drift statistics', () => {
  it('KS: statistic exact, p-value within 0.003 of scipy (exact 0.03530, asymptotic 0.03473)', () => {
    const r = ksTest(a, b);
    expect(r.statistic).toBeCloseTo(0.41, 10);
    expect(Math.abs(r.pValue - 0.0353)).toBeLessThan(0.003);
    expect(ksTest(a, a).pValue).toBe(1);
  });

  it('Wasserstein distance and its normed form', () => {
    expect(wasserstein(a, b)).toBeCloseTo(1.16, 10);
    expect(wassersteinNormed(a, b)).toBeCloseTo(0.8454325450621663, 10);
    expect(wasserstein(a, a)).toBe(0);
  });

  it('chi-square of current counts against reference frequencies', () => {
    const r = chiSquareTest(ref, cur);
    expect(r.statistic).toBeCloseTo(15.416666666666666, 9);
    expect(r.pValue).toBeCloseTo(0.00044906930261085745, 9);
  });

  it('Jensen–Shannon distance and PSI of frequencies', () => {
    const refBins = [30, 50, 20];
    const curBins = [20, 30, 30];
    expect(jensenShannon(refBins, curBins)).toBeCloseTo(0.13837024234793144, 9);
    expect(psi(refBins, curBins)).toBeCloseTo(0.1550828522950858, 9);
    expect(jensenShannon(refBins, refBins)).toBe(0);
  });

  it('histograms over shared Sturges bins count every value once', () => {
    const edges = binEdges(a, b);
    expect(edges).toHaveLength(Math.ceil(Math.log2(45) + 1) + 1);
    expect(histogram(a, edges).reduce((s, c) => s + c, 0)).toBe(a.length);
    expect(histogram(b, edges).reduce((s, c) => s + c, 0)).toBe(b.length);
  });
});
