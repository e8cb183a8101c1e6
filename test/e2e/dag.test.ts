// `mlpipe dag`: every format, target selection (pipeline, stage, group,
// instance; upstream, --downstream, --single) and unknown targets.
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

const project = {
  'data/raw.csv': 'x\n',
  'params.yaml': 'lrs: [0.01, 0.1]\n',
  'pipelines/ml.yaml': [
    'stages:',
    '  prepare:',
    '    cmd: echo',
    '    deps: [data/raw.csv]',
    '    outs: [data/prepared/]',
    '  sweep:',
    '    matrix: {lr: "${lrs}", units: [16, 32]}',
    '    cmd: echo ${item.lr} ${item.units}',
    '    deps: [data/prepared/train.csv]',
    '    outs: ["models/sweep-${item.lr}-${item.units}/"]',
    '  pick:',
    '    cmd: echo',
    '    deps: [models/]',
    '    outs: [best.json]',
    '',
  ].join('\n'),
  'pipelines/ship.yaml': ['stages:', '  package:', '    cmd: echo', '    deps: [best.json]', '    outs: [dist/]', '  notify:', '    cmd: echo', '    needs: [package]', ''].join('\n'),
};

function ids(r: { stdout: string }): string[] {
  return (JSON.parse(r.stdout) as { stages: { id: string }[] }).stages.map((s) => s.id);
}

describe('dag', () => {
  it('json lists stages in topological order with the edges and why they exist', () => {
    rig = new Rig().write(project);
    const r = rig.run(['dag', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.stages.map((s: { id: string }) => s.id)).toEqual([
      'ml:prepare',
      'ml:sweep@0.01-16',
      'ml:sweep@0.01-32',
      'ml:sweep@0.1-16',
      'ml:sweep@0.1-32',
      'ml:pick',
      'ship:package',
      'ship:notify',
    ]);
    expect(doc.edges).toContainEqual({ from: 'ml:prepare', to: 'ml:sweep@0.1-32', via: [{ dep: 'data/prepared/train.csv', out: 'data/prepared' }] });
    expect(doc.edges).toContainEqual({ from: 'ml:sweep@0.01-16', to: 'ml:pick', via: [{ dep: 'models', out: 'models/sweep-0.01-16' }] });
    expect(doc.edges).toContainEqual({ from: 'ml:pick', to: 'ship:package', via: [{ dep: 'best.json', out: 'best.json' }] });
    expect(doc.edges).toContainEqual({ from: 'ship:package', to: 'ship:notify', via: [{ needs: 'package' }] });
    expect(doc.stages[1]).toMatchObject({ cmd: ['echo 0.01 16'], params: [{ file: 'params.yaml', key: 'lrs' }], file: 'pipelines/ml.yaml', line: 6 });
  });

  it('--json is the same as --format json', () => {
    rig = new Rig().write(project);
    expect(rig.run(['dag', '--json']).stdout).toBe(rig.run(['dag', '--format', 'json']).stdout);
  });

  it('targets select upstream by default', () => {
    rig = new Rig().write(project);
    expect(ids(rig.run(['dag', '--json', 'ml:pick']))).toEqual(['ml:prepare', 'ml:sweep@0.01-16', 'ml:sweep@0.01-32', 'ml:sweep@0.1-16', 'ml:sweep@0.1-32', 'ml:pick']);
    expect(ids(rig.run(['dag', '--json', 'sweep@0.1-16']))).toEqual(['ml:prepare', 'ml:sweep@0.1-16']);
    expect(ids(rig.run(['dag', '--json', 'ml:sweep', '--single']))).toEqual(['ml:sweep@0.01-16', 'ml:sweep@0.01-32', 'ml:sweep@0.1-16', 'ml:sweep@0.1-32']);
    expect(ids(rig.run(['dag', '--json', 'ship', '--single']))).toEqual(['ship:package', 'ship:notify']);
  });

  it('--downstream selects the targets and everything after them', () => {
    rig = new Rig().write(project);
    expect(ids(rig.run(['dag', '--json', '--downstream', 'sweep@0.1-32']))).toEqual(['ml:sweep@0.1-32', 'ml:pick', 'ship:package', 'ship:notify']);
  });

  it('an unknown target is an error with a suggestion, exit 2', () => {
    rig = new Rig().write(project);
    const r = rig.run(['dag', 'ml:pik']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: pipeline "ml" has no stage "pik" — did you mean "ml:pick"?');
    expect(rig.run(['dag', 'nothing']).stderr).toContain('error: no pipeline or stage named "nothing"');
  });

  it('a stage name in several pipelines must be qualified', () => {
    rig = new Rig().write({ 'pipelines/a.yaml': 'stages:\n  x:\n    cmd: echo\n    outs: [a]\n', 'pipelines/b.yaml': 'stages:\n  x:\n    cmd: echo\n    outs: [b]\n' });
    const r = rig.run(['dag', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"x" is a stage of several pipelines: a, b');
    expect(r.stderr).toContain('name one of them: a:x, b:x');
  });

  it('ascii draws one row per stage with lanes for the edges', () => {
    rig = new Rig().write(project);
    const r = rig.run(['dag']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        '●        ml:prepare',
        '├─┬─┬─┐',
        '● │ │ │  ml:sweep@0.01-16  ← ml:prepare',
        '│ ● │ │  ml:sweep@0.01-32  ← ml:prepare',
        '│ │ ● │  ml:sweep@0.1-16  ← ml:prepare',
        '│ │ │ ●  ml:sweep@0.1-32  ← ml:prepare',
        '├─┴─┴─┘',
        '●        ml:pick  ← ml:sweep@0.01-16, ml:sweep@0.01-32, ml:sweep@0.1-16, ml:swe…',
        '●        ship:package  ← ml:pick',
        '●        ship:notify  ← ship:package',
        '',
      ].join('\n'),
    );
  });

  it('ascii stays readable at 30 stages: one line each, narrow enough for a terminal', () => {
    const lines = ['stages:', '  src:', '    cmd: echo', '    outs: [src/]'];
    for (let i = 0; i < 28; i++) lines.push(`  s${i}:`, '    cmd: echo', `    deps: [${i % 4 === 0 ? 'src/' : `o/${i - 1}`}]`, `    outs: [o/${i}]`);
    lines.push('  join:', '    cmd: echo', '    deps: [o/]');
    rig = new Rig().write({ 'pipelines/p.yaml': `${lines.join('\n')}\n` });
    const r = rig.run(['dag']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows.filter((l) => l.includes('●'))).toHaveLength(30);
    expect(Math.max(...rows.map((l) => l.length))).toBeLessThanOrEqual(80);
  });

  it('dot and mermaid group stages by pipeline', () => {
    rig = new Rig().write(project);
    const dot = rig.run(['dag', '--format', 'dot']).stdout;
    expect(dot).toContain('subgraph "cluster_ml" {');
    expect(dot).toContain('"ml:pick" -> "ship:package";');
    const mermaid = rig.run(['dag', '--format', 'mermaid']).stdout;
    expect(mermaid.split('\n')[0]).toBe('flowchart TD');
    expect(mermaid).toContain('subgraph ship["ship"]');
    expect(mermaid).toContain('s5 --> s6');
  });

  it('draws a project whose only problem is a missing dep, and says so; refuses one it cannot draw', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [missing]\n  b:\n    cmd: echo\n    needs: [a]\n' });
    const r = rig.run(['dag']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('b  ← a');
    expect(r.stderr).toContain('pipelines/p.yaml:4:12: warning: dep "missing" does not exist');
    rig.write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    needs: [b]\n  b:\n    cmd: echo\n    needs: [a]\n' });
    const cycle = rig.run(['dag']);
    expect(cycle.code).toBe(2);
    expect(cycle.stdout).toBe('');
    expect(cycle.stderr).toContain('error: cycle');
  });
});
