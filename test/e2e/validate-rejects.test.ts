// Every kind of invalid pipeline is rejected by `mlpipe validate` with exit 2
// and a diagnostic at the exact line and column of the offending YAML.
import { afterEach, describe, expect, it } from 'vitest';
import { Rig, errorLines } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

interface Case {
  readonly name: string;
  readonly files: Record<string, string>;
  /** Expected "file:line:col: error: message" lines, message as a regex source. */
  readonly errors: readonly [string, RegExp][];
}

const base = { 'data/in.csv': 'x\n', 'params.yaml': 'train: {lr: 0.1, epochs: 3, layers: [16, 8]}\nprep: {seed: 1}\n' };

const cases: Case[] = [
  {
    name: 'unknown field with a suggestion',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    dep: [data/in.csv]\n' },
    errors: [['pipelines/p.yaml:4:5', /unknown field "dep" in stage "a" — did you mean "deps"\?/]],
  },
  {
    name: 'unknown top-level field',
    files: { 'pipelines/p.yaml': 'stage:\n  a:\n    cmd: echo\n' },
    errors: [
      ['pipelines/p.yaml:1:1', /missing required field "stages"/],
      ['pipelines/p.yaml:1:1', /unknown field "stage" — did you mean "stages"\?/],
    ],
  },
  {
    name: 'both cmd and uses',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    uses: mlpipe/train\n' },
    errors: [['pipelines/p.yaml:4:5', /"cmd" and "uses" cannot be used together/]],
  },
  {
    name: 'neither cmd nor uses',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    desc: nothing to do\n' },
    errors: [['pipelines/p.yaml:2:3', /stage "a" needs "cmd" or "uses"/]],
  },
  {
    name: 'wrong types',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: data/in.csv\n    outs: [3]\n    retries: -1\n    timeout: ten\n' },
    errors: [
      ['pipelines/p.yaml:4:11', /"deps" must be a list, not a string/],
      ['pipelines/p.yaml:5:12', /"outs\[0\]" must be a string or a mapping, not an integer/],
      ['pipelines/p.yaml:6:14', /"retries" must be >= 0, not -1/],
      ['pipelines/p.yaml:7:14', /"timeout" is "ten"; expected a duration such as 90s, 10m or 1h/],
    ],
  },
  {
    name: 'invalid stage name',
    files: { 'pipelines/p.yaml': 'stages:\n  "bad name":\n    cmd: echo\n  "x:y":\n    cmd: echo\n' },
    errors: [
      ['pipelines/p.yaml:2:3', /invalid stage name "bad name"/],
      ['pipelines/p.yaml:4:3', /invalid stage name "x:y"/],
    ],
  },
  {
    name: 'with without uses',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    with: {x: 1}\n' },
    errors: [['pipelines/p.yaml:4:5', /"with" needs "uses" beside it/]],
  },
  {
    name: 'matrix and foreach together',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    matrix: {x: [1]}\n    foreach: [1]\n' },
    errors: [['pipelines/p.yaml:5:5', /"matrix" and "foreach" cannot be used together/]],
  },
  {
    name: 'unknown ${...} names',
    files: { 'pipelines/p.yaml': 'vars: {m: {u: [1, 2]}}\nstages:\n  a:\n    cmd: echo ${train.lrr} ${nope} ${m.u[5]} ${HOME}\n' },
    errors: [
      ['pipelines/p.yaml:4:15', /"train" has no key "lrr" — did you mean "lr"\?/],
      ['pipelines/p.yaml:4:28', /unknown name "nope"/],
      ['pipelines/p.yaml:4:36', /"m.u" has 2 items; \[5\] is out of range/],
      ['pipelines/p.yaml:4:46', /unknown name "HOME"/],
    ],
  },
  {
    name: '${item} outside a fan-out',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo ${item.x}\n' },
    errors: [['pipelines/p.yaml:3:15', /unknown name "item.x"/]],
  },
  {
    name: 'a list placed in text',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo ${train.layers}\n' },
    errors: [['pipelines/p.yaml:3:15', /"\$\{train.layers\}" is a list/]],
  },
  {
    name: 'missing param keys and params files',
    files: {
      'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    params: [train.epoch, {params.yaml: [prep.sed]}, {other.yaml: }]\n',
    },
    errors: [
      ['pipelines/p.yaml:4:14', /param "train.epoch" not found in params.yaml — did you mean "train.epochs"\?/],
      ['pipelines/p.yaml:4:42', /param "prep.sed" not found in params.yaml/],
      ['pipelines/p.yaml:4:55', /params file "other.yaml" not found/],
    ],
  },
  {
    name: 'listed params file missing',
    files: { 'pipelines/p.yaml': 'params: [conf/missing.yaml]\nstages:\n  a:\n    cmd: echo\n' },
    errors: [['pipelines/p.yaml:1:10', /params file "conf\/missing.yaml" not found/]],
  },
  {
    name: 'duplicate matrix instances',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    matrix: {lr: [0.1, "0.1"]}\n    cmd: echo ${item.lr}\n' },
    errors: [['pipelines/p.yaml:3:24', /two instances of "a" are both named "a@0.1"/]],
  },
  {
    name: 'paths that escape the root',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [../x, /etc/passwd, data\\in.csv]\n    outs: [a/../../b]\n' },
    errors: [
      ['pipelines/p.yaml:4:12', /dep "..\/x" is outside the project root/],
      ['pipelines/p.yaml:4:18', /dep "\/etc\/passwd" is absolute/],
      ['pipelines/p.yaml:4:31', /uses "\\"; paths use "\/"/],
      ['pipelines/p.yaml:5:12', /output "a\/..\/..\/b" is outside the project root/],
    ],
  },
  {
    name: 'a dep that nothing provides',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [data/missing.csv, "data/*.json"]\n' },
    errors: [
      ['pipelines/p.yaml:4:12', /dep "data\/missing.csv" does not exist, and no stage outputs it/],
      ['pipelines/p.yaml:4:30', /dep "data\/\*.json" matches no file, and no stage outputs it/],
    ],
  },
  {
    name: 'two stages writing the same or nested outputs',
    files: {
      'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    outs: [out/, m.json]\n  b:\n    cmd: echo\n    outs: [out/file]\n    metrics: [m.json]\n',
    },
    errors: [
      ['pipelines/p.yaml:7:12', /"out\/file" is an output inside "out", already written by p:a/],
      ['pipelines/p.yaml:8:15', /"m.json" is the same output, already written by p:a/],
    ],
  },
  {
    name: 'an output that is its own dep',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [data/]\n    outs: [data/out.csv]\n' },
    errors: [['pipelines/p.yaml:4:12', /dep "data" overlaps this stage's own output "data\/out.csv"/]],
  },
  {
    name: 'needs naming an unknown stage',
    files: {
      'pipelines/p.yaml': 'stages:\n  train:\n    cmd: echo\n  b:\n    cmd: echo\n    needs: [trian, other:x, p:zz]\n',
    },
    errors: [
      ['pipelines/p.yaml:6:13', /needs "trian": pipeline "p" has no stage "trian" — did you mean "train"\?/],
      ['pipelines/p.yaml:6:20', /needs "other:x": no pipeline named "other"/],
      ['pipelines/p.yaml:6:29', /needs "p:zz": pipeline "p" has no stage "zz"/],
    ],
  },
  {
    name: 'a cycle across a path edge and a needs edge',
    files: {
      'pipelines/p.yaml':
        'stages:\n  a:\n    cmd: echo\n    deps: [c.out]\n    outs: [a.out]\n  b:\n    cmd: echo\n    deps: [a.out]\n    outs: [b.out]\n  c:\n    cmd: echo\n    needs: [b]\n    outs: [c.out]\n',
    },
    errors: [['pipelines/p.yaml:8:12', /cycle: p:a → p:b → p:c → p:a/]],
  },
  {
    name: 'a cycle across two pipeline files',
    files: {
      'pipelines/one.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [two.out]\n    outs: [one.out]\n',
      'pipelines/two.yaml': 'stages:\n  b:\n    cmd: echo\n    deps: [one.out]\n    outs: [two.out]\n',
    },
    errors: [['pipelines/two.yaml:4:12', /cycle: one:a → two:b → one:a/]],
  },
  {
    name: 'two files with one pipeline name',
    files: {
      'pipelines/a.yaml': 'name: same\nstages:\n  x:\n    cmd: echo\n',
      'pipelines/b.yml': 'name: same\nstages:\n  y:\n    cmd: echo\n',
    },
    errors: [['pipelines/b.yml:1:1', /two pipeline files are both named "same"/]],
  },
  {
    name: 'unquoted ${...} inside a flow sequence',
    files: { 'pipelines/p.yaml': 'stages:\n  a:\n    matrix: {x: [1]}\n    cmd: echo\n    outs: [m/${item.x}/]\n' },
    errors: [['pipelines/p.yaml:5:15', /YAML syntax/]],
  },
];

describe('validate rejects', () => {
  for (const c of cases) {
    it(c.name, () => {
      rig = new Rig().write({ ...base, ...c.files });
      const r = rig.run(['validate']);
      expect(r.code, r.stderr).toBe(2);
      const lines = errorLines(r.stderr);
      for (const [where, message] of c.errors) {
        const line = lines.find((l) => l.startsWith(`${where}: error: `) && message.test(l));
        expect(line, `expected ${where} ${message} in:\n${r.stderr}`).toBeDefined();
      }
      expect(lines.filter((l) => l.includes(': error: ')).length, r.stderr).toBe(c.errors.length);
    });
  }

  it('prints the source line and a caret under the node', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    dep: [x]\n' });
    const r = rig.run(['validate']);
    expect(r.stderr).toContain('  4 |     dep: [x]\n    |     ^~~\n');
  });

  it('rejects a dep that reaches outside the root through a symbolic link', async () => {
    const { symlinkSync } = await import('node:fs');
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [link/passwd]\n' });
    symlinkSync('/etc', `${rig.dir}/link`);
    const r = rig.run(['validate']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['pipelines/p.yaml:4:12: error: dep "link/passwd" leads outside the project root through a symbolic link']);
  });

  it('names the suggestion for a YAML ${...} inside [ ]', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    matrix: {x: [1]}\n    cmd: echo\n    outs: [m/${item.x}/]\n' });
    expect(rig.run(['validate']).stderr).toContain('quote strings that contain ${...}');
  });

  it('writes nothing when it rejects', async () => {
    const { readdirSync } = await import('node:fs');
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    dep: [x]\n' });
    rig.run(['validate']);
    expect(readdirSync(rig.dir).sort()).toEqual(['pipelines']);
  });
});

describe('built-in actions', () => {
  it('an unknown action is rejected at its position', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    uses: mlpipe/trian\n    with: {x: 1}\n' });
    const r = rig.run(['validate']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^pipelines\/p.yaml:3:11: error: unknown built-in action "mlpipe\/trian"/);
  });
});
