// The main job: the bundled iris pipeline runs end to end in a copy of the
// repository's project files, reruns as a no-op, and after an edit reruns
// exactly the affected stages.
import { cpSync, mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../rig.js';

const dir = mkdtempSync(join(tmpdir(), 'mlpipe-bundled-'));
for (const p of ['pipelines', 'data', 'examples', 'params.yaml']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
rmSync(join(dir, 'pipelines', 'iris.lock'), { force: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function outcomes(args: string[] = []): Record<string, string> {
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
    expect(outcomes()).toEqual({ 'iris:prepare': 'ran', 'iris:train': 'ran', 'iris:evaluate': 'ran' });
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics', 'iris.json'), 'utf8'));
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(existsSync(join(dir, 'models', 'iris', 'model.json'))).toBe(true);
  });

  it('a second run is a no-op', () => {
    expect(outcomes()).toEqual({ 'iris:prepare': 'fresh', 'iris:train': 'fresh', 'iris:evaluate': 'fresh' });
  });

  it('a changed training param reruns train and evaluate only', () => {
    const params = join(dir, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace('epochs: 300', 'epochs: 200'));
    expect(outcomes()).toEqual({ 'iris:prepare': 'fresh', 'iris:train': 'ran', 'iris:evaluate': 'ran' });
  });

  it('matches the lock file committed in the repository', () => {
    // The committed lock records the default params: restore them and compare.
    const params = join(dir, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace('epochs: 200', 'epochs: 300'));
    outcomes();
    const committed = join(REPO, 'pipelines', 'iris.lock');
    if (existsSync(committed)) expect(readFileSync(join(dir, 'pipelines', 'iris.lock'), 'utf8')).toBe(readFileSync(committed, 'utf8'));
  });
});
