// The bundled lifecycle loop (pipelines/iris-loop.yaml) in a copy of the
// repository's project: batches dropped into data/iris-loop/incoming/ drive
// monitor → (if drift) augment → retrain → evaluate against iris@production →
// promote only a winner → report. From the JSON events: exactly the expected
// stages run or are skipped; the alias moves only when the challenger wins
// (both outcomes forced: a drifted batch the challenger learns, and a stricter
// min_delta); the registry records both scores; a skip is a no-op the second
// time; a condition's threshold change reruns exactly what it gates.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO, parseEvent, runCli } from '../rig.js';

const dir = mkdtempSync(join(tmpdir(), 'mlpipe-loop-'));
for (const p of ['pipelines', 'data', 'examples', 'registry', 'params.yaml']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOOP = ['monitor', 'augment', 'retrain', 'evaluate', 'promote', 'report'];

function run(args: string[] = []): { outcomes: Record<string, string>; events: Record<string, any>[] } {
  const r = runCli(['run', '--json', 'iris-loop', ...args], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map(parseEvent);
  const outcomes: Record<string, string> = {};
  for (const e of events) if (e.type === 'stage-finished' && String(e.stage).startsWith('iris-loop:')) outcomes[String(e.stage).slice('iris-loop:'.length)] = e.outcome as string;
  return { outcomes, events };
}
const expected = (ran: string[], skipped: string[] = []) => Object.fromEntries(LOOP.map((s) => [s, ran.includes(s) ? 'ran' : skipped.includes(s) ? 'condition-false' : 'fresh']));
const drop = (batch: string, as: string) => copyFileSync(join(REPO, 'examples', 'iris-loop', 'batches', batch), join(dir, 'data', 'iris-loop', 'incoming', as));
const registry = () => parse(readFileSync(join(dir, 'registry', 'iris.yaml'), 'utf8')) as { aliases: Record<string, number>; versions: Record<string, any>[] };
const json = (path: string) => JSON.parse(readFileSync(join(dir, path), 'utf8'));

describe('the lifecycle loop', () => {
  it('on the bundled batch, which does not drift, skips retraining; a second run is a no-op that writes nothing', () => {
    const first = run();
    expect(first.outcomes).toEqual(expected(['monitor', 'report'], ['augment', 'retrain', 'evaluate', 'promote']));
    const skip = first.events.find((e) => e.stage === 'iris-loop:augment')!;
    expect(skip.condition).toMatchObject({ result: false, values: { 'stages.monitor.metrics.drift_share': 0, 'loop.retrain_drift_share': 0.5 } });
    const lock = join(dir, 'pipelines', 'iris-loop.lock');
    const before = statSync(lock).mtimeMs;
    expect(run().outcomes).toEqual(expected([], ['augment', 'retrain', 'evaluate', 'promote']));
    expect(statSync(lock).mtimeMs).toBe(before);
  });

  it('a drifted batch the challenger learns: retrained, scored against the champion on the same rows, promoted', () => {
    drop('shifted.csv', 'batch-002.csv');
    const r = run();
    expect(r.outcomes).toEqual(expected(LOOP));
    const evaluation = json('metrics/iris-loop/challenger.json');
    expect(evaluation.champion).toMatchObject({ model: 'iris', alias: 'production', version: 1 });
    expect(evaluation.champion.rows).toBe(evaluation.rows);
    expect(evaluation.accuracy).toBeGreaterThan(evaluation.champion.accuracy);
    const reg = registry();
    expect(reg.aliases.production).toBe(2);
    expect(reg.versions[1]!.promotion).toMatchObject({ decision: 'promoted', challenger: evaluation.accuracy, champion: { version: 1, value: evaluation.champion.accuracy, source: 'evaluation' }, data: { path: 'data/iris-loop/augmented/test.csv' } });
    expect(json('metrics/iris-loop/decision.json')).toMatchObject({ version: 2, promoted: true });
    const monitor = json('metrics/iris-loop/monitor.json');
    expect(monitor.batches.map((b: { drift_share: number }) => b.drift_share)).toEqual([0, 0.75]);
    const report = readFileSync(join(dir, 'reports', 'iris-loop.html'), 'utf8');
    expect(report).toContain('Drift share by batch');
    expect(report).toContain('Promotion decisions');
  });

  it('raising the drift threshold above the drift skips exactly what the condition gates', () => {
    const r = run(['--set', 'loop.retrain_drift_share=0.9']);
    expect(r.outcomes).toEqual(expected([], ['augment', 'retrain', 'evaluate', 'promote']));
  });

  it('a drifted batch whose challenger does not win by min_delta: registered with both scores, production stays', () => {
    drop('mislabelled.csv', 'batch-003.csv');
    const r = run(['--set', 'loop.min_delta=0.5']);
    expect(r.outcomes).toEqual(expected(LOOP));
    const reg = registry();
    expect(reg.aliases.production).toBe(2);
    const v3 = reg.versions.find((v) => v.version === 3)!;
    expect(v3.promotion).toMatchObject({ decision: 'kept', min_delta: 0.5, champion: { version: 2 } });
    expect(json('metrics/iris-loop/decision.json')).toMatchObject({ version: 3, promoted: false, champion_version: 2 });
    // serve and the report see production unchanged
    expect(runCli(['models', 'list', 'iris'], { cwd: dir }).stdout).toMatch(/\b2\s+production\b/);
  });

  it('a batch without drift after them skips retraining again, and the report still follows the monitor', () => {
    drop('typical.csv', 'batch-004.csv');
    expect(run().outcomes).toEqual(expected(['monitor', 'report'], ['augment', 'retrain', 'evaluate', 'promote']));
    expect(json('metrics/iris-loop/monitor.json').batches).toHaveLength(4);
  });
});
