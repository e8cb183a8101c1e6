// SPEC §3 through the CLI: what makes a stage stale, early cutoff, restores
// from the cache and the run-cache, and deterministic lock files.
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, errorLines, Rig } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

// Each stage appends its name to runs.log (not a dep or output) so tests can count executions.
const diamond = {
  'in/a.txt': 'hello\n',
  'params.yaml': 'b: {factor: 1}\nc: {suffix: x}\n',
  'pipelines/d.yaml': `stages:
  a:
    cmd: echo a >> runs.log && mkdir -p out && tr a-z A-Z < in/a.txt | cut -c1-3 > out/a.txt
    deps: [in/a.txt]
    outs: [out/a.txt]
  b:
    cmd: echo b >> runs.log && cat out/a.txt out/a.txt > out/b.txt && echo \${b.factor} >> out/b.txt
    deps: [out/a.txt]
    outs: [out/b.txt]
  c:
    cmd: echo c >> runs.log && sed 's/$/\${c.suffix}/' out/a.txt > out/c.txt
    deps: [out/a.txt]
    outs: [out/c.txt]
  d:
    cmd: echo d >> runs.log && cat out/b.txt out/c.txt > out/d.txt
    deps: [out/b.txt, out/c.txt]
    outs: [out/d.txt]
    metrics: [m.json]
`.replace('> out/d.txt', '> out/d.txt && echo \'{"n":1}\' > m.json'),
};

function runsLog(r: Rig): string[] {
  return r.exists('runs.log') ? r.read('runs.log').split('\n').filter((l) => l !== '') : [];
}

function clearRuns(r: Rig): void {
  r.write({ 'runs.log': '' });
}

describe('incremental runs on a diamond', () => {
  it('runs everything once, then nothing', () => {
    rig = new Rig().write(diamond);
    const first = rig.runJson();
    expect(first.code, first.stderr).toBe(0);
    expect(first.outcomes).toEqual({ 'd:a': 'ran', 'd:b': 'ran', 'd:c': 'ran', 'd:d': 'ran' });
    expect(rig.read('out/d.txt')).toBe('HEL\nHEL\n1\nHELx\n');
    clearRuns(rig);
    const second = rig.runJson();
    expect(second.outcomes).toEqual({ 'd:a': 'fresh', 'd:b': 'fresh', 'd:c': 'fresh', 'd:d': 'fresh' });
    expect(runsLog(rig)).toEqual([]);
  });

  it('a no-op writes nothing: no file or directory is created, changed or removed, .mlpipe/ included', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    rig.runJson(); // the parse cache and stat index settle
    const snapshot = () => {
      const out: string[] = [];
      const walk = (dir: string) => {
        for (const e of readdirSync(join(rig.dir, dir), { withFileTypes: true })) {
          const rel = dir ? `${dir}/${e.name}` : e.name;
          const st = lstatSync(join(rig.dir, rel));
          out.push(`${rel} ${st.ino} ${st.size} ${st.mtimeMs} ${st.ctimeMs}`);
          if (e.isDirectory()) walk(rel);
        }
      };
      walk('');
      return out.sort();
    };
    const before = snapshot();
    for (const args of [['run'], ['run', '--json'], ['status'], ['run', 'd:d']]) {
      expect(rig.run(args).code, args.join(' ')).toBe(0);
      expect(snapshot(), args.join(' ')).toEqual(before);
    }
    // A reader that stops early is not a crash.
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" run --json | head -1`], { cwd: rig.dir, encoding: 'utf8' });
    expect(piped.stderr).not.toContain('EPIPE');
  });

  it('a changed input reruns exactly what it affects', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    rig.write({ 'runs.log': '', 'params.yaml': 'b: {factor: 2}\nc: {suffix: x}\n' });
    const r = rig.runJson();
    expect(r.outcomes).toEqual({ 'd:a': 'fresh', 'd:b': 'ran', 'd:c': 'fresh', 'd:d': 'ran' });
    expect(runsLog(rig)).toEqual(['b', 'd']);
  });

  it('early cutoff: an upstream rerun with identical output stops there', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    // Same first three letters after upper-casing: a reruns, its output bytes do not change.
    rig.write({ 'runs.log': '', 'in/a.txt': 'help\n' });
    const r = rig.runJson();
    expect(r.outcomes).toEqual({ 'd:a': 'ran', 'd:b': 'fresh', 'd:c': 'fresh', 'd:d': 'fresh' });
    expect(runsLog(rig)).toEqual(['a']);
  });

  it('changing only mtime reruns nothing', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    clearRuns(rig);
    rig.write({ 'in/a.txt': 'hello\n' }); // same bytes, new mtime
    const r = rig.runJson();
    expect(Object.values(r.outcomes).every((o) => o === 'fresh')).toBe(true);
    expect(runsLog(rig)).toEqual([]);
  });

  it('explains why: param, command, removed dep, never run, upstream', () => {
    rig = new Rig().write(diamond);
    const never = JSON.parse(rig.run(['status', '--json']).stdout);
    expect(never.stages[0]).toMatchObject({ id: 'd:a', status: 'stale', reasons: ['never run'] });
    rig.runJson();
    rig.write({ 'params.yaml': 'b: {factor: 3}\nc: {suffix: x}\n' });
    let status = JSON.parse(rig.run(['status', '--json']).stdout);
    expect(status.stages.find((s: { id: string }) => s.id === 'd:b').reasons).toEqual(['param b.factor: 1 → 3']); // the command changed only through \${b.factor}: one reason
    expect(status.stages.find((s: { id: string }) => s.id === 'd:d').reasons).toEqual(['upstream d:b is stale']);
    rig.runJson();
    rig.write({ 'pipelines/d.yaml': rig.read('pipelines/d.yaml').replace('deps: [out/b.txt, out/c.txt]', 'deps: [out/b.txt]\n    needs: [c]') });
    status = JSON.parse(rig.run(['status', '--json']).stdout);
    expect(status.stages.find((s: { id: string }) => s.id === 'd:d').reasons).toEqual(['dep removed: out/c.txt']);
    const r = rig.runJson();
    expect(r.outcomes['d:d']).toBe('ran');
    const upstream = rig.runJson(['--force', 'd:a']);
    expect(upstream.outcomes['d:a']).toBe('ran');
  });

  it('a deleted output is restored from the cache without running', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    clearRuns(rig);
    rig.write({ 'out/b.txt': 'tampered\n' });
    const status = rig.run(['status']);
    expect(status.stdout).toContain('d:b  restorable: output modified: out/b.txt (restorable from cache)');
    const r = rig.runJson();
    expect(r.outcomes).toEqual({ 'd:a': 'fresh', 'd:b': 'restored', 'd:c': 'fresh', 'd:d': 'fresh' });
    expect(rig.read('out/b.txt')).toBe('HEL\nHEL\n1\n');
    expect(runsLog(rig)).toEqual([]);
  });

  it('the run-cache brings back results of earlier params without running', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    rig.write({ 'params.yaml': 'b: {factor: 2}\nc: {suffix: x}\n' });
    rig.runJson();
    rig.write({ 'runs.log': '', 'params.yaml': 'b: {factor: 1}\nc: {suffix: x}\n' });
    const r = rig.runJson();
    expect(r.outcomes).toEqual({ 'd:a': 'fresh', 'd:b': 'restored', 'd:c': 'fresh', 'd:d': 'restored' });
    expect(runsLog(rig)).toEqual([]);
    expect(rig.read('out/d.txt')).toBe('HEL\nHEL\n1\nHELx\n');
  });

  it('two identical projects write byte-identical lock files', () => {
    rig = new Rig().write(diamond);
    const other = new Rig().write(diamond);
    try {
      rig.runJson();
      other.runJson();
      const lock = rig.read('pipelines/d.lock');
      expect(lock).toBe(other.read('pipelines/d.lock'));
      expect(lock).not.toMatch(/20\d\d-\d\d-\d\d/); // no timestamps
      // Rerunning does not rewrite it differently.
      rig.runJson(['--force']);
      expect(rig.read('pipelines/d.lock')).toBe(lock);
    } finally {
      other.cleanup();
    }
  });

  it('cached outputs go to .gitignore, "cache: false" ones stay for git', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    const ignore = rig.read('.gitignore').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['/out/a.txt', '/out/b.txt', '/out/c.txt', '/out/d.txt']));
    expect(ignore).not.toContain('/m.json');
  });

  it('--set overrides a param for one run and the lock records it', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    const r = rig.runJson(['--set', 'b.factor=7']);
    expect(r.outcomes['d:b']).toBe('ran');
    expect(rig.read('out/b.txt')).toBe('HEL\nHEL\n7\n');
    expect(rig.read('pipelines/d.lock')).toContain('b.factor: 7');
    const bad = rig.run(['run', '--set', 'b.factr=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--set b.factr: no params file has this key — did you mean "b.factor"?');
  });

  it('--set refuses a key that a cmd stage declares, since its command may read the params file itself', () => {
    rig = new Rig().write({
      'params.yaml': 'train:\n  n: 1\n',
      'read.js': "const t = require('fs').readFileSync('params.yaml', 'utf8'); console.log(/n: (\\d+)/.exec(t)[1]);\n",
      'pipelines/p.yaml': 'stages:\n  reads:\n    cmd: node read.js > out.txt\n    deps: [read.js]\n    params: [train.n]\n    outs: [out.txt]\n',
    });
    const r = rig.run(['run', '--set', 'train.n=2']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['pipelines/p.yaml:5:14: error: --set train.n: stage "p:reads" declares this param, and its command may read params.yaml itself, so it would not see the override']);
    expect(r.stderr).toContain('mlpipe exp run --set train.n=VALUE');
    expect(rig.exists('out.txt') || rig.exists('pipelines/p.lock')).toBe(false);
    // The same value through ${...} reaches the command, and the lock records what it saw.
    rig.write({ 'pipelines/p.yaml': 'stages:\n  echoes:\n    cmd: echo ${train.n} > out.txt\n    outs: [out.txt]\n' });
    expect(rig.runJson(['--set', 'train.n=2']).code).toBe(0);
    expect(rig.read('out.txt')).toBe('2\n');
    expect(rig.read('pipelines/p.lock')).toContain('train.n: 2');
  });

  it('status --check exits 1 when stale, 0 when not', () => {
    rig = new Rig().write(diamond);
    expect(rig.run(['status', '--check']).code).toBe(1);
    rig.runJson();
    expect(rig.run(['status', '--check']).code).toBe(0);
  });

  it('--dry-run prints the plan and runs nothing', () => {
    rig = new Rig().write(diamond);
    const r = rig.runJson(['--dry-run']);
    expect(r.outcomes).toEqual({ 'd:a': 'would-run', 'd:b': 'would-run', 'd:c': 'would-run', 'd:d': 'would-run' });
    expect(rig.exists('out')).toBe(false);
    expect(rig.exists('pipelines/d.lock')).toBe(false);
  });

  it('--single and --downstream select as documented', () => {
    rig = new Rig().write(diamond);
    expect(rig.runJson(['--single', 'd:b']).code).toBe(1); // its input does not exist yet
    rig.runJson();
    rig.write({ 'in/a.txt': 'other\n' });
    const single = rig.runJson(['--single', 'd:c']);
    expect(Object.keys(single.outcomes)).toEqual(['d:c']);
    const down = rig.runJson(['--downstream', 'd:b']);
    expect(Object.keys(down.outcomes).sort()).toEqual(['d:b', 'd:d']);
  });

  it('a hand-broken lock file is a located error, not a crash', () => {
    rig = new Rig().write(diamond);
    rig.runJson();
    const lock = rig.read('pipelines/d.lock').replace(/key: "?[0-9a-f]+"?/, 'key: nothex');
    rig.write({ 'pipelines/d.lock': lock });
    const r = rig.run(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipelines\/d\.lock:\d+:\d+: error: /);
  });

  it('every run that changes something writes a record', () => {
    rig = new Rig().write(diamond);
    const r = rig.runJson();
    const runId = r.events[0]!.runId as string;
    const record = JSON.parse(readFileSync(join(rig.dir, '.mlpipe', 'runs', `${runId}.json`), 'utf8'));
    expect(record.ok).toBe(true);
    expect(record.stages.map((s: { id: string; outcome: string }) => `${s.id}=${s.outcome}`)).toEqual(['d:a=ran', 'd:b=ran', 'd:c=ran', 'd:d=ran']);
    expect(record.stages[0].key).toMatch(/^[0-9a-f]{64}$/);
  });
});
