// Comparing and experimenting through the CLI, in temp git repositories (real
// git): params diff, metrics show/diff across revisions, and exp run (sweeps
// sharing stages, the user's tree untouched, queue, failure, concurrency,
// kill -9), show, diff, apply, branch, list, remove, push and pull.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, Rig, parseEvent, start, waitFor } from '../rig.js';

function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A script that reads params.yaml itself (as DVC's example project does) and writes metrics from it. */
const TRAIN_JS = `const fs = require('fs');
const t = fs.readFileSync('params.yaml', 'utf8');
const lr = Number(/lr: ([0-9.]+)/.exec(t)[1]);
const units = Number(/units: ([0-9]+)/.exec(t)[1]);
const prep = fs.readFileSync('prep.txt', 'utf8').trim();
fs.mkdirSync('metrics', { recursive: true });
fs.writeFileSync('metrics/train.json', JSON.stringify({ score: lr * units, prep: Number(prep), detail: { lr } }));
`;

const PROJECT = {
  '.gitignore': '/.mlpipe/\n',
  'params.yaml': '# training settings\ntrain:\n  lr: 0.1   # learning rate\n  units: 16\nprep:\n  n: 3\n',
  'train.js': TRAIN_JS,
  'pipelines/p.yaml': `stages:
  prep:
    cmd: echo \${prep.n} > prep.txt
    outs: [prep.txt]
  train:
    cmd: node train.js
    deps: [train.js, prep.txt]
    params: [train.lr, train.units]
    metrics: [{metrics/train.json: {cache: false}}]
`,
};

function gitRig(files: Record<string, string> = PROJECT): Rig {
  const rig = new Rig().write(files);
  git(rig.dir, 'init', '-q', '-b', 'main');
  rig.runJson();
  git(rig.dir, 'add', '-A');
  git(rig.dir, 'commit', '-qm', 'base');
  return rig;
}

/** Everything of the user's repository an experiment must not touch. */
function userState(rig: Rig): string {
  return [git(rig.dir, 'status', '--porcelain', '--untracked-files=all'), git(rig.dir, 'rev-parse', 'HEAD'), git(rig.dir, 'branch', '--list'), git(rig.dir, 'ls-files', '-s'), git(rig.dir, 'stash', 'list')].join('\n--\n');
}

function runRecords(rig: Rig): { experiment?: string; stages: { id: string; outcome: string; params?: unknown; metrics?: Record<string, Record<string, number>> }[] }[] {
  const dir = join(rig.dir, '.mlpipe', 'runs');
  return readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
}

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('params diff, metrics show and metrics diff', () => {
  it('compare the working tree with HEAD and any two revisions, changed values only unless --all', () => {
    rig = gitRig();
    rig.write({ 'params.yaml': PROJECT['params.yaml'].replace('lr: 0.1', 'lr: 0.3') });
    // The run ends by listing what changed against HEAD: in the JSON events, the text reporters and the GitHub job summary.
    const summary = join(rig.dir, '.mlpipe', 'summary.md');
    const ran = rig.run(['run', '--reporter', 'plain'], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    expect(ran.stderr).toContain('metrics changed against HEAD:\n  metrics/train.json detail.lr  0.1 → 0.3 (+0.2)\n  metrics/train.json score      1.6 → 4.8 (+3.2)\n');
    expect(readFileSync(summary, 'utf8')).toContain('| metrics/train.json | score | 1.6 | 4.8 | +3.2 |');
    rig.write({ 'params.yaml': PROJECT['params.yaml'].replace('lr: 0.1', 'lr: 0.2') });
    const events = rig.runJson().events.filter((e) => e.type === 'metrics-changed');
    expect(events).toEqual([expect.objectContaining({ against: 'HEAD', changes: [expect.objectContaining({ key: 'detail.lr', old: 0.1, new: 0.2 }), expect.objectContaining({ key: 'score', old: 1.6, new: 3.2 })] })]);
    rig.write({ 'params.yaml': PROJECT['params.yaml'].replace('lr: 0.1', 'lr: 0.3') });
    rig.runJson();
    const diff = rig.run(['metrics', 'diff']);
    expect(diff.code).toBe(0);
    expect(diff.stdout.split('\n').slice(0, 3)).toEqual([
      'Path                Key        HEAD  workspace  Change',
      'metrics/train.json  detail.lr  0.1   0.3        +0.2',
      'metrics/train.json  score      1.6   4.8        +3.2',
    ]);
    expect(diff.stdout).not.toContain('prep'); // unchanged
    expect(rig.run(['metrics', 'diff', '--all']).stdout).toContain('metrics/train.json  prep       3     3          0');
    expect(JSON.parse(rig.run(['metrics', 'diff', '--json']).stdout)).toEqual({ 'metrics/train.json': { 'detail.lr': { old: 0.1, new: 0.3, diff: expect.closeTo(0.2, 9) }, score: { old: 1.6, new: 4.8, diff: expect.closeTo(3.2, 9) } } });
    expect(rig.run(['metrics', 'diff', '--md']).stdout.split('\n').slice(0, 3)).toEqual(['| Path | Key | HEAD | workspace | Change |', '|---|---|---|---|---|', '| metrics/train.json | detail.lr | 0.1 | 0.3 | +0.2 |']);
    expect(rig.run(['metrics', 'diff', '--precision', '0']).stdout).toContain('score      2     5          +3');
    expect(rig.run(['params', 'diff']).stdout.split('\n').slice(0, 2)).toEqual(['Path         Key       HEAD  workspace  Change', 'params.yaml  train.lr  0.1   0.3        +0.2']);
    git(rig.dir, 'commit', '-qam', 'lr 0.3');
    expect(rig.run(['metrics', 'diff', 'HEAD~1', 'HEAD']).stdout).toContain('score      1.6     4.8   +3.2');
    expect(rig.run(['metrics', 'diff']).stderr).toContain('no changes between HEAD and workspace');
    const show = rig.run(['metrics', 'show', '--rev', 'HEAD~1', '--csv']);
    expect(show.stdout.split('\n').slice(0, 2)).toEqual(['Path,Key,workspace,HEAD~1', 'metrics/train.json,detail.lr,0.3,0.1']);
  });

  it('bad revisions are exit 2 with a suggestion; a broken metrics file is an error cell; outside git only the workspace works', () => {
    rig = gitRig();
    git(rig.dir, 'branch', 'baseline');
    const bad = rig.run(['metrics', 'diff', 'baselin']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown revision or experiment "baselin" — did you mean "baseline"?');
    rig.write({ 'metrics/train.json': '{"score": 1,,}' });
    const broken = rig.run(['metrics', 'diff']);
    expect(broken.code).toBe(0);
    expect(broken.stdout).toMatch(/\nmetrics\/train\.json\s+-\s+error: YAML syntax: /);
    expect(rig.run(['metrics', 'diff', '--json']).stdout).toContain('"error"');
    rmSync(join(rig.dir, '.git'), { recursive: true, force: true });
    rig.write({ 'metrics/train.json': '{"score": 2}' });
    expect(rig.run(['metrics', 'show']).stdout).toContain('metrics/train.json  score  2');
    const outside = rig.run(['metrics', 'diff']);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('is not inside a git repository');
    expect(rig.run(['exp', 'show']).code).toBe(2);
  });

  it('a cached metrics file is read at a revision through its lock file, inside a directory output as DVC allows', () => {
    rig = gitRig({
      '.gitignore': '/.mlpipe/\n',
      'params.yaml': 'k: 1\n',
      'pipelines/p.yaml': `metrics: [results/summary.yaml]
stages:
  eval:
    cmd: 'mkdir -p results && echo "acc: \${k}" > results/summary.yaml'
    outs: [results/]
`,
    });
    expect(git(rig.dir, 'ls-files')).not.toContain('results/'); // cached, not committed
    rig.write({ 'params.yaml': 'k: 2\n' });
    rig.runJson();
    expect(rig.run(['metrics', 'diff']).stdout).toContain('results/summary.yaml  acc  1     2          +1');
  });
});

describe('experiments', () => {
  it('a 2×2 sweep runs as one graph: the shared stage runs once, scripts read the swept values, the user\'s tree is untouched', () => {
    rig = gitRig();
    // An uncommitted change makes prep stale in every experiment, with one key: it must run once.
    rig.write({ 'pipelines/p.yaml': PROJECT['pipelines/p.yaml'].replace('echo ${prep.n}', 'echo 4') });
    const before = userState(rig);
    const r = rig.run(['exp', 'run', '--set', 'train.lr=0.01,0.2', '--set', 'train.units=range(16,48,16)', '-n', 'sw', '-j', '2']);
    expect(r.code).toBe(0);
    expect(userState(rig)).toBe(before);
    const records = runRecords(rig).filter((x) => x.experiment);
    expect(records.map((x) => x.experiment).sort()).toEqual(['sw-1', 'sw-2', 'sw-3', 'sw-4']);
    const prepRuns = records.flatMap((x) => x.stages).filter((s) => s.id === 'p:prep' && s.outcome === 'ran');
    expect(prepRuns).toHaveLength(1);
    expect(records.flatMap((x) => x.stages).filter((s) => s.id === 'p:train' && s.outcome === 'ran')).toHaveLength(4);
    // Run records keep each stage's params and metrics.
    const sw4 = records.find((x) => x.experiment === 'sw-4')!.stages.find((s) => s.id === 'p:train')!;
    expect(sw4.params).toEqual({ 'params.yaml': { 'train.lr': 0.2, 'train.units': 32 } });
    expect(sw4.metrics).toEqual({ 'metrics/train.json': { score: 6.4, prep: 4, 'detail.lr': 0.2 } });

    const show = JSON.parse(rig.run(['exp', 'show', '--json']).stdout) as { name: string; state: string; params: Record<string, Record<string, unknown>>; metrics: Record<string, Record<string, number>> }[];
    expect(show.map((x) => x.name)).toEqual(['workspace', 'HEAD', 'sw-1', 'sw-2', 'sw-3', 'sw-4']);
    expect(show.slice(2).map((x) => [x.params['params.yaml']!['train.lr'], x.params['params.yaml']!['train.units'], x.metrics['metrics/train.json']!.score, x.state])).toEqual([
      [0.01, 16, 0.16, 'done'],
      [0.01, 32, 0.32, 'done'],
      [0.2, 16, 3.2, 'done'],
      [0.2, 32, 6.4, 'done'],
    ]);
    // The experiment's copy of params.yaml keeps its comments and order.
    const ref = `refs/exps/${git(rig.dir, 'rev-parse', 'HEAD').trim()}/sw-4`;
    expect(git(rig.dir, 'show', `${ref}:params.yaml`)).toBe('# training settings\ntrain:\n  lr: 0.2 # learning rate\n  units: 32\nprep:\n  n: 3\n');
    expect(git(rig.dir, 'log', '--format=%P', '-1', ref).trim()).toBe(git(rig.dir, 'rev-parse', 'HEAD').trim());
    const table = rig.run(['exp', 'show', '--sort-by', 'score', '--sort-order', 'desc']).stdout.split('\n');
    expect(table[0]).toMatch(/^Experiment\s+Created\s+State\s+train\.lr\s+train\.units\s+detail\.lr\s+prep\s+score$/);
    expect(table.slice(1, 7).map((l) => l.split(/\s+/)[0])).toEqual(['workspace', 'HEAD', 'sw-4', 'sw-3', 'sw-2', 'sw-1']);
    expect(rig.run(['exp', 'show', '--csv']).stdout.split('\n')[0]).toBe('Experiment,Created,State,train.lr,train.units,detail.lr,prep,score');
    expect(rig.run(['exp', 'diff', 'sw-1', 'sw-4']).stdout).toMatch(/metrics\/train\.json\s+score\s+0\.16\s+6\.4\s+\+6\.24\n/);
    expect(rig.run(['metrics', 'diff', 'main', 'sw-3']).stdout).toMatch(/score\s+1\.6\s+3\.2\s+\+1\.6\n/);
    expect(rig.run(['exp', 'list']).stdout).toContain('  sw-2  done  train.lr=0.01 train.units=32');
  });

  it('apply, branch and remove; bad input is exit 2 and records nothing', () => {
    rig = gitRig();
    expect(rig.run(['exp', 'run', '--set', 'train.lr=0.5', '-n', 'best']).code).toBe(0);
    const before = git(rig.dir, 'for-each-ref', 'refs/exps/');
    const cases: [string[], string][] = [
      [['exp', 'run', '--set', 'train.lrr=1'], '--set train.lrr: no params file has this key — did you mean "train.lr"?'],
      [['exp', 'run', '--set', 'train.lr=range(1,,2)'], 'range(): "" is not a number'],
      [['exp', 'run', '--set', 'train.lr=[1,2'], 'unclosed "["'],
      [['exp', 'run', '-n', 'best', '--set', 'train.lr=0.3'], 'an experiment named "best" already exists on this commit'],
      [['exp', 'apply', 'bset'], 'no experiment named "bset" — did you mean "best"?'],
      [['exp', 'run', '--set', 'train.lr=1', '--set', 'train.lr=2'], '--set train.lr is given twice'],
    ];
    for (const [args, message] of cases) {
      const r = rig.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(rig.run(['exp', 'run', '--set', 'train.lr=range(1,,2)']).stderr).toContain('--set:1:18: error: range(): "" is not a number\n  1 | train.lr=range(1,,2)\n    |                  ^');
    expect(git(rig.dir, 'for-each-ref', 'refs/exps/')).toBe(before);

    rig.write({ 'params.yaml': `${PROJECT['params.yaml']}# my edit\n` });
    const refused = rig.run(['exp', 'apply', 'best']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exp apply would overwrite uncommitted changes to params.yaml');
    expect(rig.read('params.yaml')).toContain('# my edit');
    const applied = rig.run(['exp', 'apply', 'best', '--force']);
    expect(applied.code).toBe(0);
    expect(rig.read('params.yaml')).toContain('lr: 0.5');
    expect(JSON.parse(rig.read('metrics/train.json')).score).toBe(8);
    expect(rig.run(['status', '--check']).code).toBe(0); // lock, params and outputs agree
    expect(rig.run(['exp', 'branch', 'best', 'try-best']).code).toBe(0);
    expect(git(rig.dir, 'show', 'try-best:params.yaml')).toContain('lr: 0.5');
    expect(rig.run(['exp', 'remove', 'best']).code).toBe(0);
    expect(git(rig.dir, 'for-each-ref', 'refs/exps/')).toBe('');
  });

  it('--queue records without running; --run-all runs them; a failed experiment is recorded as failed and the others finish', () => {
    rig = gitRig();
    rig.write({ 'train.js': `${TRAIN_JS}if (lr > 1) { console.error('lr too large: ' + lr); process.exit(3); }\n` });
    expect(rig.run(['exp', 'run', '--queue', '--set', 'train.lr=0.2,5', '-n', 'q']).code).toBe(0);
    expect(rig.run(['exp', 'list']).stdout).toContain('q-1  queued  train.lr=0.2');
    expect(rig.exists('.mlpipe/runs') && runRecords(rig).some((x) => x.experiment)).toBe(false);
    const json = rig.run(['exp', 'run', '--queue', '--json', '--set', 'train.lr=0.3', '-n', 'j']);
    const events = json.stdout.trim().split('\n').map(parseEvent); // JSON lines, each a schema-valid event, nothing else
    expect(events).toEqual([expect.objectContaining({ type: 'experiment-recorded', name: 'j', state: 'queued', sets: ['train.lr=0.3'] })]);
    expect(rig.run(['exp', 'remove', 'j']).code).toBe(0);
    const r = rig.run(['exp', 'run', '--run-all']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('recorded q-1');
    expect(r.stderr).toMatch(/failed\s+q-2 \(train\.lr=5\)\n\s+p:train failed: exit code 3/);
    const list = JSON.parse(rig.run(['exp', 'list', '--json']).stdout) as { name: string; state: string; failure?: string }[];
    expect(list.map((e) => [e.name, e.state])).toEqual([
      ['q-1', 'done'],
      ['q-2', 'failed'],
    ]);
    expect(rig.run(['exp', 'show']).stdout).toMatch(/q-2\s+\S+ \S+\s+failed/);
  });

  it('two exp run processes at once each record their experiments once', async () => {
    rig = gitRig();
    const a = start(rig, ['exp', 'run', '--set', 'train.lr=0.3,0.4', '-n', 'a']);
    const b = start(rig, ['exp', 'run', '--set', 'train.lr=0.3,0.5', '-n', 'b']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code], ra.stderr + rb.stderr).toEqual([0, 0]);
    const names = git(rig.dir, 'for-each-ref', '--format=%(refname:lstrip=3)', 'refs/exps/').split('\n').filter(Boolean).sort();
    expect(names).toEqual(['a-1', 'a-2', 'b-1', 'b-2']);
    const show = JSON.parse(rig.run(['exp', 'show', '--json']).stdout) as { name: string; metrics: Record<string, Record<string, number>> }[];
    expect(show.find((x) => x.name === 'b-2')!.metrics['metrics/train.json']!.score).toBe(8);
  });

  it('kill -9 during exp run leaves no ref and the user\'s tree as it was; the next run clears the dead copy', async () => {
    rig = gitRig();
    const marker = join(mkdtempSync(join(tmpdir(), 'mlpipe-marker-')), 'started');
    rig.write({ 'train.js': `${TRAIN_JS}fs.writeFileSync(${JSON.stringify(marker)}, '');setTimeout(() => {}, 10000);\n` });
    git(rig.dir, 'commit', '-qam', 'slow');
    const before = userState(rig);
    const run = start(rig, ['exp', 'run', '--set', 'train.lr=0.7', '-n', 'killed']);
    await waitFor(() => existsSync(marker), 20_000);
    // While it runs, exp show lists it as running, with the values it tries.
    const running = JSON.parse(rig.run(['exp', 'show', '--json']).stdout) as { name: string; state: string; params: Record<string, Record<string, unknown>> }[];
    expect(running.find((x) => x.name === 'killed')).toMatchObject({ state: 'running', params: { 'params.yaml': { 'train.lr': 0.7 } } });
    const exited = new Promise((resolve) => run.child.on('exit', resolve));
    run.child.kill('SIGKILL');
    await exited; // (its stage, orphaned by kill -9, still holds the output pipes for a while)
    rmSync(join(marker, '..'), { recursive: true, force: true });
    expect(git(rig.dir, 'for-each-ref', 'refs/exps/')).toBe('');
    expect(userState(rig)).toBe(before);
    expect(rig.run(['exp', 'show']).stdout).not.toContain('killed');
    const work = join(rig.dir, '.mlpipe', 'exps', 'work');
    expect(readdirSync(work)).toHaveLength(1); // the dead run's copy
    rig.write({ 'train.js': TRAIN_JS });
    git(rig.dir, 'commit', '-qam', 'fast');
    expect(rig.run(['exp', 'run', '--set', 'train.lr=0.7', '-n', 'killed']).code).toBe(0);
    expect(readdirSync(work)).toEqual([]);
  });

  it('exp push and pull carry experiments through a git remote', () => {
    rig = gitRig();
    const remote = mkdtempSync(join(tmpdir(), 'mlpipe-remote-'));
    try {
      git(remote, 'init', '-q', '--bare', '-b', 'main');
      git(rig.dir, 'push', '-q', remote, 'main');
      expect(rig.run(['exp', 'run', '--set', 'train.lr=0.2,0.3', '-n', 'shared']).code).toBe(0);
      expect(rig.run(['exp', 'push', remote, 'shared-2']).code).toBe(0);
      const clone = mkdtempSync(join(tmpdir(), 'mlpipe-clone-'));
      try {
        git(clone, 'clone', '-q', remote, '.');
        const r = spawnSync(process.execPath, [BIN, 'exp', 'pull', 'origin'], { cwd: clone, encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const list = spawnSync(process.execPath, [BIN, 'exp', 'list'], { cwd: clone, encoding: 'utf8' });
        expect(list.stdout).toContain('shared-2  done  train.lr=0.3');
        expect(list.stdout).not.toContain('shared-1');
      } finally {
        rmSync(clone, { recursive: true, force: true });
      }
    } finally {
      rmSync(remote, { recursive: true, force: true });
    }
  });
});
