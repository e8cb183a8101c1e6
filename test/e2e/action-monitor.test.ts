// mlpipe/monitor through the CLI: no drift between splits of one data set,
// drift on the shipped production batch (warn or fail, as configured), the
// serving log as current data, schema changes, data quality, model quality
// with a threshold, and Evidently's switch to distances for large references.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, Rig, IRIS_CSV, IRIS_SPLIT_STAGE } from '../rig.js';

const BATCH = readFileSync(join(REPO, 'data', 'iris-production.csv'), 'utf8');

function pipeline(monitorWith: string, deps = '[data/split/, data/current.csv]'): string {
  return `stages:
${IRIS_SPLIT_STAGE}  train:
    uses: mlpipe/train
    with: { train: data/split/train.csv, validation: data/split/validation.csv, label: species, epochs: 40, seed: 1, out: models/m }
    deps: [data/split/]
    outs: [models/m/]
  monitor:
    uses: mlpipe/monitor
    with:
${monitorWith}
      out: metrics/monitor.json
    deps: ${deps}
    metrics: [metrics/monitor.json]
`;
}

const rigs: Rig[] = [];
afterAll(() => rigs.forEach((r) => r.cleanup()));
function project(monitorWith: string, current: string, deps?: string): Rig {
  const rig = new Rig().write({ 'data/iris.csv': IRIS_CSV, 'data/current.csv': current, 'pipelines/p.yaml': pipeline(monitorWith, deps) });
  rigs.push(rig);
  return rig;
}

const report = (rig: Rig) => JSON.parse(rig.read('metrics/monitor.json'));
/** A plain run's whole output (stage lines and the summary) and exit code. */
function plain(rig: Rig): { code: number; out: string } {
  const r = rig.run(['run', '--reporter', 'plain']);
  return { code: r.code, out: r.stdout + r.stderr };
}
const log = (rig: Rig) => plain(rig).out;

describe('mlpipe/monitor', () => {
  it('finds no drift between two splits of the same data', () => {
    const rig = project('      reference: data/split/train.csv\n      current: data/split/test.csv\n      label: species\n      on_drift: fail', IRIS_CSV, '[data/split/]');
    const r = rig.runJson();
    expect(r.code, r.stderr).toBe(0);
    const rep = report(rig);
    expect(rep.verdict).toBe('ok');
    expect(rep.dataset_drift).toBe(false);
    expect(Object.keys(rep.feature_drift)).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    for (const f of Object.values(rep.feature_drift) as { method: string; score: number; drifted: boolean }[]) {
      expect(f.method).toBe('ks');
      expect(f.drifted).toBe(f.score < 0.05);
    }
  });

  it('reports the drifted production batch as a warning, or fails the stage with on_drift: fail', () => {
    const warn = project('      reference: data/split/train.csv\n      current: data/current.csv\n      label: species\n      on_drift: warn', BATCH);
    const out = log(warn);
    expect(out).toMatch(/DRIFT petal_length: ks p=/);
    expect(out).toMatch(/warning: dataset drift: 3 of 4 features drifted \(share 0\.75, threshold 0\.5\)/);
    const rep = report(warn);
    expect(rep).toMatchObject({ verdict: 'drift', dataset_drift: true, drifted_features: 3, features: 4 });
    expect(rep.feature_drift.petal_length.histogram.reference.reduce((s: number, c: number) => s + c, 0)).toBe(rep.rows.reference);
    expect(rep.data_quality.features.sepal_length.missing_share).toBeCloseTo(3 / 60, 5);
    expect(rep.data_quality.features.petal_length.out_of_range_share).toBeGreaterThan(0);

    const fail = project('      reference: data/split/train.csv\n      current: data/current.csv\n      label: species\n      on_drift: fail', BATCH);
    const r = plain(fail);
    expect(r.code).toBe(1);
    expect(r.out).toContain('monitor: dataset drift: 3 of 4 features drifted');
    // The report is still written, to see why the gate failed; the lock does not record it.
    expect(report(fail).verdict).toBe('drift');
    expect(fail.read('pipelines/p.lock')).not.toContain('monitor:');
  });

  it('scores the model on labelled current rows; a model threshold gates the stage', () => {
    const rig = project('      reference: data/split/train.csv\n      current: data/current.csv\n      label: species\n      model: models/m\n      thresholds: { accuracy: ">= 0.99" }', BATCH, '[data/split/, data/current.csv, models/m/]');
    const r = plain(rig);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/monitor: accuracy is 0\.\d+, the threshold is >= 0\.99/);
  });

  it('reads the serving log (JSON lines; _prediction and _time are metadata) and reports a missing column as a schema change', () => {
    const lines = IRIS_CSV.trim()
      .split('\n')
      .slice(1, 41)
      .map((l) => {
        const [sl, sw, pl] = l.split(',').map(Number);
        return JSON.stringify({ sepal_length: sl, sepal_width: sw, petal_length: pl, _prediction: 'setosa', _time: '2026-11-27T00:00:00Z' });
      });
    const rig = new Rig().write({ 'data/iris.csv': IRIS_CSV, 'data/serve.jsonl': `${lines.join('\n')}\n`, 'pipelines/p.yaml': pipeline('      reference: data/split/train.csv\n      current: data/serve.jsonl\n      label: species\n      on_breach: warn', '[data/split/, data/serve.jsonl]') });
    rigs.push(rig);
    const out = log(rig);
    expect(out).toContain('warning: schema change: data/serve.jsonl lacks "petal_width" (on_breach: warn)');
    const rep = report(rig);
    expect(Object.keys(rep.feature_drift)).toEqual(['sepal_length', 'sepal_width', 'petal_length']);
    expect(rep.data_quality.schema).toEqual({ missing_columns: ['petal_width'], extra_columns: [] });
    // The first 40 rows are all setosa: petal lengths drift from the mixed training split.
    expect(rep.feature_drift.petal_length.drifted).toBe(true);
  });

  it('uses normalised Wasserstein and Jensen–Shannon distances above 1000 reference rows', () => {
    const row = (i: number, shift: number) => `${(Math.sin(i) * 3 + shift).toFixed(3)},${['red', 'green', 'blue'][i % 3]}`;
    const ref = `x,colour\n${Array.from({ length: 1200 }, (_, i) => row(i, 0)).join('\n')}\n`;
    const cur = `x,colour\n${Array.from({ length: 300 }, (_, i) => row(i, 2) + (i % 10 === 0 ? '' : '')).join('\n').replace(/,blue/g, ',purple')}\n`;
    const rig = new Rig().write({ 'data/ref.csv': ref, 'data/cur.csv': cur, 'pipelines/p.yaml': `stages:\n  monitor:\n    uses: mlpipe/monitor\n    with: { reference: data/ref.csv, current: data/cur.csv, out: metrics/monitor.json }\n    deps: [data/ref.csv, data/cur.csv]\n    metrics: [metrics/monitor.json]\n` });
    rigs.push(rig);
    expect(rig.runJson().code).toBe(0);
    const rep = report(rig);
    expect(rep.feature_drift.x).toMatchObject({ type: 'numeric', method: 'wasserstein', threshold: 0.1, drifted: true });
    expect(rep.feature_drift.colour).toMatchObject({ type: 'categorical', method: 'jensenshannon', threshold: 0.1, drifted: true });
    expect(rep.data_quality.features.colour.new_categories).toEqual(['purple']);
  });

  it('chi-square asked for on a numeric column compares its distinct values as categories', () => {
    const rig = project('      reference: data/split/train.csv\n      current: data/current.csv\n      label: species\n      method: chisquare', BATCH);
    expect(rig.runJson().code).toBe(0);
    const d = report(rig).feature_drift.petal_width;
    expect(d).toMatchObject({ type: 'numeric', method: 'chisquare', threshold: 0.05, drifted: true });
    expect(d.score).toBeLessThan(0.05);
  });

  it('rejects a test that does not fit the column type, naming the column', () => {
    const rig = project('      reference: data/split/train.csv\n      current: data/split/test.csv\n      columns: [species]\n      method: ks', IRIS_CSV, '[data/split/]');
    const r = plain(rig);
    expect(r.code).toBe(1);
    expect(r.out).toContain('method ks compares numbers, but column "species" is categorical');
  });
});
