// `mlpipe watch` as a real background process on real files, with its JSON
// event stream as the oracle: reruns only what a change affects, saves of the
// same bytes run nothing, a change during a run queues exactly one more run,
// invalid edits keep watching, failures wait for an input change, editors'
// rename-saves / delete-recreate / new files in dep directories and globs
// trigger, interruptible stages restart, memory stays flat, Ctrl-C exits 130.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, Rig, parseEvent, type RunEvent } from '../rig.js';

class Watch {
  readonly events: RunEvent[] = [];
  readonly child: ChildProcess;
  stderr = '';
  private buffer = '';
  readonly exit: Promise<number | null>;

  constructor(readonly rig: Rig, args: string[] = [], env: Record<string, string> = {}) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MLPIPE_WATCH_DEBOUNCE_MS: '50', ...env };
    delete childEnv.GITHUB_ACTIONS;
    this.child = spawn(process.execPath, [BIN, 'watch', '--json', ...args], { cwd: rig.dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      const lines = this.buffer.split('\n');
      this.buffer = lines.pop()!;
      for (const l of lines) if (l.trim()) this.events.push(parseEvent(l));
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exit = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  count(type: string): number {
    return this.events.filter((e) => e.type === type).length;
  }

  /** Waits until `n` events of `type` have arrived. */
  async until(type: string, n: number, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (this.count(type) < n) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${n} × ${type}; events: ${JSON.stringify(this.events.map((e) => e.type))}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Outcomes of stages in the n-th run (1-based). */
  run(n: number): Record<string, string> {
    const out: Record<string, string> = {};
    let seen = 0;
    for (const e of this.events) {
      if (e.type === 'run-started') seen++;
      if (seen === n && e.type === 'stage-finished') out[e.stage as string] = e.outcome as string;
    }
    return out;
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exit;
  }
}

let rig: Rig;
let watch: Watch | undefined;
afterEach(async () => {
  if (watch && watch.child.exitCode === null) {
    watch.child.kill('SIGKILL');
    await watch.exit;
  }
  watch = undefined;
  rig?.cleanup();
});

const TWO = `stages:
  upper:
    cmd: tr a-z A-Z < data/in.txt > up.txt
    deps: [data/in.txt]
    outs: [up.txt]
  count:
    cmd: wc -c < up.txt > count.txt
    deps: [up.txt]
    outs: [count.txt]
  other:
    cmd: cp data/other.txt other-copy.txt
    deps: [data/other.txt]
    outs: [other-copy.txt]
`;

describe('mlpipe watch', () => {
  it('runs, reruns only what a change affects, runs nothing for a same-bytes save, exits 130 on Ctrl-C', async () => {
    rig = new Rig().write({ 'pipelines/p.yaml': TWO, 'data/in.txt': 'hello\n', 'data/other.txt': 'x\n' });
    watch = new Watch(rig);
    await watch.until('watch-waiting', 1);
    expect(watch.run(1)).toEqual({ 'p:upper': 'ran', 'p:count': 'ran', 'p:other': 'ran' });
    expect(watch.events.find((e) => e.type === 'watch-started')!.files).toBeGreaterThan(0);
    // No run follows its own outputs being written.
    await new Promise((r) => setTimeout(r, 400));
    expect(watch.count('run-started')).toBe(1);

    writeFileSync(join(rig.dir, 'data/in.txt'), 'changed\n');
    await watch.until('watch-waiting', 2);
    expect(watch.run(2)).toEqual({ 'p:upper': 'ran', 'p:count': 'ran', 'p:other': 'fresh' });
    expect(watch.events.find((e) => e.type === 'watch-change')!.paths).toEqual(['data/in.txt']);
    expect(rig.read('up.txt')).toBe('CHANGED\n');

    writeFileSync(join(rig.dir, 'data/in.txt'), 'changed\n'); // same bytes
    await watch.until('watch-waiting', 3);
    expect(watch.run(3)).toEqual({ 'p:upper': 'fresh', 'p:count': 'fresh', 'p:other': 'fresh' });

    expect(await watch.stop()).toBe(130);
  });

  it('Ctrl-C during a run kills the running stage and exits 130', async () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  long:
    cmd: sleep 30 & echo $! > sleeper.pid; wait
    outs: [never.txt]
`,
    });
    watch = new Watch(rig);
    await watch.until('stage-started', 1);
    while (!rig.exists('sleeper.pid') || rig.read('sleeper.pid').trim() === '') await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    expect(await watch.stop()).toBe(130);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(watch.events.at(-1)).toMatchObject({ type: 'run-finished', interrupted: 'SIGINT' });
    const pid = Number(rig.read('sleeper.pid'));
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = Date.now() + 5000; // an orphan is reaped by init a moment later
    while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });

  it('queues exactly one more run for changes made during a run', async () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  slow:
    cmd: sleep 1; cat data/in.txt > out.txt
    deps: [data/in.txt]
    outs: [out.txt]
`,
      'data/in.txt': 'v0\n',
    });
    watch = new Watch(rig);
    await watch.until('stage-started', 1);
    for (const v of ['v1', 'v2', 'v3']) {
      writeFileSync(join(rig.dir, 'data/in.txt'), `${v}\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await watch.until('watch-waiting', 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(watch.count('run-started')).toBe(2);
    expect(watch.run(2)).toEqual({ 'p:slow': 'ran' });
    expect(rig.read('out.txt')).toBe('v3\n');
  });

  it('reports an invalid edit and keeps watching; fixing it resumes', async () => {
    rig = new Rig().write({ 'pipelines/p.yaml': TWO, 'data/in.txt': 'a\n', 'data/other.txt': 'x\n' });
    watch = new Watch(rig);
    await watch.until('watch-waiting', 1);
    writeFileSync(join(rig.dir, 'pipelines/p.yaml'), TWO.replace('deps: [data/in.txt]', 'dep: [data/in.txt]'));
    await watch.until('diagnostics', 1);
    await watch.until('watch-waiting', 2);
    const diag = watch.events.find((e) => e.type === 'diagnostics')!.diagnostics as { message: string; location: { file: string; line: number } }[];
    expect(diag[0]!.message).toContain('unknown field "dep"');
    expect(diag[0]!.location).toMatchObject({ file: 'pipelines/p.yaml', line: 4 });
    writeFileSync(join(rig.dir, 'pipelines/p.yaml'), TWO.replace('tr a-z A-Z', 'tr a-z A-Z '));
    await watch.until('watch-waiting', 3);
    // The command changed; its output did not, so downstream stays fresh.
    expect(watch.run(2)).toEqual({ 'p:upper': 'ran', 'p:count': 'fresh', 'p:other': 'fresh' });
  });

  it('does not retry a failed stage until one of its inputs changes', async () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  flaky:
    cmd: grep -q good data/in.txt && cp data/in.txt ok.txt
    deps: [data/in.txt]
    outs: [ok.txt]
  other:
    cmd: cp data/other.txt other-copy.txt
    deps: [data/other.txt]
    outs: [other-copy.txt]
`,
      'data/in.txt': 'bad\n',
      'data/other.txt': '1\n',
    });
    watch = new Watch(rig, ['--keep-going']);
    await watch.until('watch-waiting', 1);
    expect(watch.run(1)).toEqual({ 'p:flaky': 'failed', 'p:other': 'ran' });
    writeFileSync(join(rig.dir, 'data/other.txt'), '2\n');
    await watch.until('watch-waiting', 2);
    expect(watch.run(2)).toEqual({ 'p:flaky': 'skipped', 'p:other': 'ran' });
    writeFileSync(join(rig.dir, 'data/in.txt'), 'good\n');
    await watch.until('watch-waiting', 3);
    expect(watch.run(3)).toEqual({ 'p:flaky': 'ran', 'p:other': 'fresh' });
  });

  it('triggers on rename-saves, delete and re-create, new files in dep directories and new glob matches', async () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  file:
    cmd: cat data/in.txt > file.out
    deps: [data/in.txt]
    outs: [file.out]
  dir:
    cmd: ls -R corpus > dir.out
    deps: [corpus]
    outs: [dir.out]
  glob:
    cmd: cat shards/*.csv > glob.out
    deps: ["shards/*.csv"]
    outs: [glob.out]
`,
      'data/in.txt': 'a\n',
      'corpus/one.txt': '1\n',
      'shards/a.csv': 'a\n',
    });
    watch = new Watch(rig);
    await watch.until('watch-waiting', 1);
    let runs = 1;
    const expectRun = async (change: () => void, stage: string) => {
      change();
      runs++;
      await watch!.until('watch-waiting', runs);
      expect(watch!.run(runs)[stage]).toBe('ran');
    };
    // vim / JetBrains: write a temp file, rename it over the original.
    await expectRun(() => {
      writeFileSync(join(rig.dir, 'data/in.txt.tmp'), 'renamed\n');
      renameSync(join(rig.dir, 'data/in.txt.tmp'), join(rig.dir, 'data/in.txt'));
    }, 'p:file');
    expect(rig.read('file.out')).toBe('renamed\n');
    await expectRun(() => {
      rmSync(join(rig.dir, 'data/in.txt'));
      writeFileSync(join(rig.dir, 'data/in.txt'), 'recreated\n');
    }, 'p:file');
    await expectRun(() => {
      mkdirSync(join(rig.dir, 'corpus/sub'));
      writeFileSync(join(rig.dir, 'corpus/sub/two.txt'), '2\n');
    }, 'p:dir');
    expect(rig.read('dir.out')).toContain('two.txt');
    await expectRun(() => writeFileSync(join(rig.dir, 'shards/b.csv'), 'b\n'), 'p:glob');
    expect(rig.read('glob.out')).toBe('a\nb\n');
  });

  it('kills and restarts an interruptible stage when its own input changes', async () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  train:
    cmd: cat data/in.txt > started-with.txt; sleep 3; cat data/in.txt > model.txt
    deps: [data/in.txt]
    outs: [model.txt]
    interruptible: true
`,
      'data/in.txt': 'v1\n',
    });
    watch = new Watch(rig);
    await watch.until('stage-started', 1);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    writeFileSync(join(rig.dir, 'data/in.txt'), 'v2\n');
    await watch.until('stage-finished', 1);
    expect(Date.now() - t0).toBeLessThan(2500); // killed, not waited for
    const first = watch.events.find((e) => e.type === 'stage-finished')!;
    expect(first).toMatchObject({ outcome: 'failed' });
    expect(first.message).toContain('restarted: data/in.txt changed');
    await watch.until('watch-waiting', 1, 20_000);
    expect(watch.run(2)).toEqual({ 'p:train': 'ran' });
    expect(rig.read('model.txt')).toBe('v2\n');
  });

  it('drives a conditional loop: a batch dropped into a folder reruns the monitor, and its metric decides what runs', async () => {
    rig = new Rig().write({
      'monitor.mjs': `import fs from 'node:fs';
const batches = fs.readdirSync('incoming').sort();
const drift = Number(fs.readFileSync('incoming/' + batches[batches.length - 1], 'utf8'));
fs.writeFileSync('monitor.json', JSON.stringify({ drift_share: drift }));
`,
      'incoming/batch-1.txt': '0.1\n',
      'pipelines/loop.yaml': `stages:
  monitor:
    cmd: node monitor.mjs
    deps: [monitor.mjs, incoming/]
    metrics: [monitor.json]
  retrain:
    if: \${stages.monitor.metrics.drift_share} > 0.5
    cmd: cat monitor.json > model.txt
    deps: [monitor.json]
    outs: [model.txt]
`,
    });
    watch = new Watch(rig);
    await watch.until('watch-waiting', 1);
    expect(watch.run(1)).toEqual({ 'loop:monitor': 'ran', 'loop:retrain': 'condition-false' });
    writeFileSync(join(rig.dir, 'incoming/batch-2.txt'), '0.8\n');
    await watch.until('watch-waiting', 2);
    expect(watch.run(2)).toEqual({ 'loop:monitor': 'ran', 'loop:retrain': 'ran' });
    expect(rig.read('model.txt')).toBe('{"drift_share":0.8}');
    writeFileSync(join(rig.dir, 'incoming/batch-3.txt'), '0.2\n');
    await watch.until('watch-waiting', 3);
    expect(watch.run(3)).toEqual({ 'loop:monitor': 'ran', 'loop:retrain': 'condition-false' });
    const skip = watch.events.filter((e) => e.type === 'stage-finished' && e.stage === 'loop:retrain').pop()!;
    expect(skip.condition).toEqual({ expr: '${stages.monitor.metrics.drift_share} > 0.5', values: { 'stages.monitor.metrics.drift_share': 0.2 }, result: false });
    expect(await watch.stop()).toBe(130);
  });

  it('a run\'s own registry write does not start another cycle; a promotion by hand does', async () => {
    rig = new Rig().write({
      'model.txt': 'v1\n',
      'export.sh': `cp model.txt out.bin\nprintf '{"score": 1}' > m.json\n`,
      'pipelines/p.yaml': `stages:
  export:
    cmd: sh export.sh
    deps: [model.txt, export.sh]
    outs: [out.bin]
    metrics: [m.json]
  register:
    uses: mlpipe/register
    with: { name: toy, model: out.bin, flavor: custom, metrics: m.json, aliases: [production], out: reg.json }
    deps: [out.bin, m.json]
    outs: [reg.json]
  card:
    cmd: cp registry/toy.yaml card.txt
    deps: [registry/toy.yaml]
    outs: [card.txt]
`,
    });
    watch = new Watch(rig);
    await watch.until('watch-waiting', 1);
    writeFileSync(join(rig.dir, 'model.txt'), 'v2\n');
    await watch.until('watch-waiting', 2);
    expect(watch.run(2)).toMatchObject({ 'p:export': 'ran', 'p:register': 'ran', 'p:card': 'ran' });
    await new Promise((r) => setTimeout(r, 1500)); // the registry's change events have arrived
    expect(watch.count('run-started')).toBe(2);
    const promote = spawnSync(process.execPath, [BIN, 'models', 'promote', 'toy:1', 'production'], { cwd: rig.dir, encoding: 'utf8' });
    expect(promote.status, promote.stderr).toBe(0);
    await watch.until('watch-waiting', 3);
    expect(watch.run(3)['p:card']).toBe('ran');
    expect(await watch.stop()).toBe(130);
  });

  it('keeps memory flat over 200 change → run cycles', async () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  copy:
    cmd: cp data/in.txt out.txt
    deps: [data/in.txt]
    outs: [out.txt]
`,
      'data/in.txt': '0\n',
    });
    watch = new Watch(rig, [], { NODE_OPTIONS: '--expose-gc' });
    await watch.until('watch-waiting', 1);
    for (let i = 1; i <= 200; i++) {
      writeFileSync(join(rig.dir, 'data/in.txt'), `${i}\n`);
      await watch.until('watch-waiting', i + 1);
    }
    const heaps = watch.events.filter((e) => e.type === 'watch-waiting').map((e) => e.heapUsed as number);
    const early = Math.max(...heaps.slice(20, 40));
    const late = Math.max(...heaps.slice(180, 200));
    // Flat: the last cycles use no more than the early ones plus a small margin.
    expect(late).toBeLessThan(early * 1.25 + 2 * 1024 * 1024);
    expect(rig.read('out.txt')).toBe('200\n');
  }, 120_000);
});
