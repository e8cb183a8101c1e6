// mlpipe/split through the CLI: stratified fractions and k folds on the
// shipped Iris data, byte-identical for a seed, located errors for bad
// `with:` inputs, and clear stage failures for bad data.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, Rig, errorLines } from '../rig.js';

const IRIS = readFileSync(join(REPO, 'data', 'iris.csv'), 'utf8');
let rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs) r.cleanup();
  rigs = [];
});

function project(withBlock: string, extra = 'deps: [data/iris.csv]\n    outs: [data/split/]'): Rig {
  const rig = new Rig().write({ 'data/iris.csv': IRIS, 'pipelines/p.yaml': `stages:\n  split:\n    uses: mlpipe/split\n    with:\n${withBlock}\n    ${extra}\n` });
  rigs.push(rig);
  return rig;
}

const rowsOf = (csv: string) => csv.trim().split('\n').slice(1);

describe('mlpipe/split', () => {
  it('splits by fractions, stratified by the label, reproducibly for a seed', () => {
    const spec = '      data: data/iris.csv\n      out: data/split\n      label: species\n      fractions: { train: 0.6, validation: 0.2, test: 0.2 }\n      seed: 3';
    const a = project(spec);
    expect(a.run(['run']).code).toBe(0);
    const summary = JSON.parse(a.read('data/split/split.json'));
    expect(summary.train).toEqual({ rows: 90, labels: { setosa: 30, versicolor: 30, virginica: 30 } });
    expect(summary.validation.rows).toBe(30);
    expect(summary.test.rows).toBe(30);
    const parts = ['train', 'validation', 'test'].map((p) => rowsOf(a.read(`data/split/${p}.csv`)));
    expect(parts.flat().sort()).toEqual(rowsOf(IRIS).sort()); // every row exactly once
    // Same inputs, another project: byte-identical; another seed: different.
    const b = project(spec);
    expect(b.run(['run']).code).toBe(0);
    for (const p of ['train', 'validation', 'test']) expect(b.read(`data/split/${p}.csv`)).toBe(a.read(`data/split/${p}.csv`));
    const c = project(spec.replace('seed: 3', 'seed: 4'));
    expect(c.run(['run']).code).toBe(0);
    expect(c.read('data/split/test.csv')).not.toBe(a.read('data/split/test.csv'));
    // A second run is a no-op; changing a with: input reruns it.
    expect(a.runJson().outcomes).toEqual({ 'p:split': 'fresh' });
    a.write({ 'pipelines/p.yaml': a.read('pipelines/p.yaml').replace('seed: 3', 'seed: 5') });
    const again = a.runJson();
    expect(again.outcomes).toEqual({ 'p:split': 'ran' });
    expect(again.events.find((e) => e.type === 'stage-started')!.reasons).toEqual([{ kind: 'action', message: 'with.seed: 3 → 5' }]);
  });

  it('makes k stratified folds that partition the rows', () => {
    const rig = project('      data: data/iris.csv\n      out: data/split\n      label: species\n      folds: 5\n      seed: 1');
    expect(rig.run(['run']).code).toBe(0);
    const validations = [1, 2, 3, 4, 5].map((f) => rowsOf(rig.read(`data/split/fold-${f}/validation.csv`)));
    expect(validations.map((v) => v.length)).toEqual([30, 30, 30, 30, 30]);
    expect(validations.flat().sort()).toEqual(rowsOf(IRIS).sort());
    for (const f of [1, 2, 3, 4, 5]) {
      // Train and validation of a fold are the whole file between them (Iris has duplicate rows: compare as lists).
      const train = rowsOf(rig.read(`data/split/fold-${f}/train.csv`));
      expect(train).toHaveLength(120);
      expect([...train, ...validations[f - 1]!].sort()).toEqual(rowsOf(IRIS).sort());
      expect(validations[f - 1]!.filter((r) => r.endsWith(',setosa'))).toHaveLength(10);
    }
  });

  it('rejects bad with: inputs at validation, with file:line:col and a suggestion', () => {
    const typo = project('      data: data/iris.csv\n      out: data/split\n      fraction: { train: 0.5 }');
    const r = typo.run(['validate']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['pipelines/p.yaml:7:7: error: unknown field "fraction" in "with" of stage "split" — did you mean "fractions"?']);
    const undeclared = project('      data: data/other.csv\n      out: data/split', 'deps: [data/iris.csv]\n    outs: [data/split/]');
    const u = undeclared.run(['validate']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('pipelines/p.yaml:5:13: error: with.data "data/other.csv" is not among the stage\'s deps (nor inside one of them)');
    expect(u.stderr).toContain('add "data/other.csv" to deps');
    const unknown = project('      data: data/iris.csv\n      out: data/split').write({ 'pipelines/p.yaml': 'stages:\n  s:\n    uses: mlpipe/splitt\n' });
    expect(unknown.run(['validate']).stderr).toContain('unknown built-in action "mlpipe/splitt"; known: mlpipe/split');
  });

  it('fails the stage with a clear message for bad data or impossible fractions', () => {
    const label = project('      data: data/iris.csv\n      out: data/split\n      label: specie');
    const r = label.run(['run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: label column "specie" is not in data/iris.csv — did you mean "species"?');
    // Fractions that cannot split the file are known before anything runs: located, at validation.
    const sum = project('      data: data/iris.csv\n      out: data/split\n      fractions: { train: 0.5, test: 0.2 }');
    for (const command of ['validate', 'run']) {
      const bad = sum.run([command]);
      expect(bad.code, command).toBe(2);
      expect(bad.stderr, command).toMatch(/pipelines\/\w+\.yaml:\d+:\d+: error: fractions must sum to 1; train 0\.5 \+ test 0\.2 = 0\.7/);
    }
    // A mistyped ${...} in with: is one error (the name and its suggestion), not also a type error about the leftover text.
    const typo = project('      data: data/iris.csv\n      out: data/split\n      seed: ${split.sed}').write({ 'params.yaml': 'split:\n  seed: 3\n' });
    const t = typo.run(['validate']);
    expect(t.stderr).toContain('"split" has no key "sed" — did you mean "seed"?');
    expect(t.stderr).not.toContain('integer');
    expect(t.stderr).toContain('✗ 1 error');
    const ragged = project('      data: data/iris.csv\n      out: data/split').write({ 'data/iris.csv': 'a,b\n1,2\n3\n' });
    expect(ragged.run(['run']).stderr).toMatch(/error: data\/iris\.csv:3: .*/);
  });
});
