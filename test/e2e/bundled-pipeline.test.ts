// The main job: the bundled iris pipeline (the whole lifecycle on
// TensorFlow.js: split → tune → train → evaluate → register → package →
// monitor → report, and the lifecycle loop beside it) runs end to end in a copy of the repository's project
// files, passes its gate, reruns as a no-op, after an edit reruns exactly the
// affected stages, and reproduces the committed lock file and registry byte
// for byte (seeded training on the same backend).
import { cpSync, mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO, runCli } from '../rig.js';

const dir = mkdtempSync(join(tmpdir(), 'mlpipe-bundled-'));
for (const p of ['pipelines', 'data', 'examples', 'registry', 'params.yaml']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
for (const lock of ['iris.lock', 'iris-loop.lock', 'houses.lock']) rmSync(join(dir, 'pipelines', lock), { force: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IRIS = ['split', 'tune', 'train', 'evaluate', 'register', 'package', 'monitor', 'report'];
/**
 * The iris stages with an outcome each: `ran` for those listed, `fresh` for the
 * others; and the lifecycle loop's stages upstream of iris:report (its promote
 * stage updates registry/iris.yaml, which the report reads): on the bundled
 * batch, which does not drift, retraining is skipped by its condition.
 */
const iris = (ran: readonly string[], loopMonitor = 'fresh') => ({
  ...Object.fromEntries(IRIS.map((s) => [`iris:${s}`, ran.includes(s) ? 'ran' : 'fresh'])),
  'iris-loop:monitor': loopMonitor,
  ...Object.fromEntries(['augment', 'retrain', 'evaluate', 'promote'].map((s) => [`iris-loop:${s}`, 'condition-false'])),
});

/** Outcomes of a run of one pipeline (both run together under a plain `mlpipe run`). */
function outcomes(args: string[] = ['iris']): Record<string, string> {
  const r = runCli(['run', '--json', ...args], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const e = JSON.parse(line);
    if (e.type === 'stage-finished') out[e.stage] = e.outcome;
  }
  return out;
}

describe('bundled iris pipeline', () => {
  it('runs end to end and passes its quality gate', () => {
    expect(outcomes()).toEqual(iris(IRIS, 'ran'));
    // The committed registry already has these exact bytes as version 1: nothing
    // changes; and the lock is the committed one, byte for byte.
    expect(readFileSync(join(dir, 'registry', 'iris.yaml'), 'utf8')).toBe(readFileSync(join(REPO, 'registry', 'iris.yaml'), 'utf8'));
    expect(readFileSync(join(dir, 'pipelines', 'iris.lock'), 'utf8')).toBe(readFileSync(join(REPO, 'pipelines', 'iris.lock'), 'utf8'));
    // The loop's report too: then its lock file is the committed one (its skips recorded with their values).
    expect(outcomes(['iris-loop:report'])['iris-loop:report']).toBe('ran');
    expect(readFileSync(join(dir, 'pipelines', 'iris-loop.lock'), 'utf8')).toBe(readFileSync(join(REPO, 'pipelines', 'iris-loop.lock'), 'utf8'));
    const best = JSON.parse(readFileSync(join(dir, 'models', 'iris-tune', 'best.json'), 'utf8'));
    expect(Object.keys(best.params).sort()).toEqual(['layers.0.units', 'optimizer.learningRate']);
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics', 'iris.json'), 'utf8'));
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    for (const f of ['model.json', 'weights.bin', 'preprocess.json']) expect(existsSync(join(dir, 'models', 'iris', f))).toBe(true);
    // The evaluation scored the champion (iris@production, these same bytes) on the same rows; the report shows it.
    expect(metrics.champion).toMatchObject({ model: 'iris', alias: 'production', version: 1, accuracy: metrics.accuracy });
    expect(readFileSync(join(dir, 'reports', 'iris.html'), 'utf8')).toContain('<h3>Champion vs challenger</h3>');
  });

  it('a second run is a no-op', () => {
    expect(outcomes()).toEqual(iris([]));
  });

  it('a changed training param reruns train and what follows it, not split or tune', () => {
    const params = join(dir, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace('  seed: 1\n', '  seed: 2\n'));
    expect(outcomes()).toEqual(iris(['train', 'evaluate', 'register', 'package', 'monitor', 'report']));
    // The champion/challenger gate: seed 2 scores lower on the same rows, so it is
    // registered as version 2 with both scores, and production stays at version 1.
    const registry = parse(readFileSync(join(dir, 'registry', 'iris.yaml'), 'utf8')) as { aliases: Record<string, number>; versions: { version: number; promotion?: Record<string, any> }[] };
    expect(registry.aliases).toEqual({ production: 1 });
    const v2 = registry.versions.find((v) => v.version === 2)!;
    expect(v2.promotion).toMatchObject({ alias: 'production', metric: 'accuracy', decision: 'kept', champion: { version: 1, value: 0.933333, source: 'evaluation' } });
    expect(v2.promotion!.challenger).toBeLessThan(0.933333);
    expect(v2.promotion!.data.path).toBe('data/prepared/test.csv');
  });

  it('back at the default params, the model comes back from the run-cache and is production, as it stayed', () => {
    const params = join(dir, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace('  seed: 2\n', '  seed: 1\n'));
    const back = outcomes();
    expect(back['iris:train']).toBe('restored');
    expect(back['iris:register']).toBe('ran');
    const registry = readFileSync(join(dir, 'registry', 'iris.yaml'), 'utf8');
    expect(registry).toMatch(/aliases:\n {2}production: 1\n/);
    expect(registry).toContain('version: 2');
  });

  it('the regression example on generated data passes its R² gate and matches its committed lock', () => {
    expect(outcomes(['houses'])).toEqual({ 'houses:generate': 'ran', 'houses:split': 'ran', 'houses:train': 'ran', 'houses:evaluate': 'ran' });
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics', 'houses.json'), 'utf8'));
    expect(metrics.task).toBe('regression');
    expect(metrics.r2).toBeGreaterThanOrEqual(0.9);
    expect(outcomes([])).toEqual({ ...iris([]), 'iris-loop:report': 'ran', 'houses:generate': 'fresh', 'houses:split': 'fresh', 'houses:train': 'fresh', 'houses:evaluate': 'fresh' });

    const committed = join(REPO, 'pipelines', 'houses.lock');
    if (existsSync(committed)) expect(readFileSync(join(dir, 'pipelines', 'houses.lock'), 'utf8')).toBe(readFileSync(committed, 'utf8'));
  });
});
