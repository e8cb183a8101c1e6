// SPEC §5 through the CLI: failures, --keep-going, timeouts, retries,
// parallelism and resources, Ctrl-C, kill -9 at random moments, two
// concurrent runs, checkout, gc and corrupt cache objects.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, Rig, start, waitFor } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

describe('failures', () => {
  const failing = {
    'pipelines/p.yaml': `stages:
  ok:
    cmd: echo fine > ok.txt
    outs: [ok.txt]
  bad:
    cmd: echo line one && echo line two >&2 && exit 3
    deps: [ok.txt]
    outs: [bad.txt]
  after:
    cmd: cat bad.txt > after.txt
    deps: [bad.txt]
    outs: [after.txt]
  other:
    cmd: sleep 0.3 && echo other > other.txt
    outs: [other.txt]
`,
  };

  it('names the stage, its exit code and last lines, keeps the log, runs nothing downstream, exits 1', () => {
    rig = new Rig().write(failing);
    const r = rig.run(['run', '-j', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('✗ p:bad failed: exit code 3');
    expect(r.stderr).toContain('│ line one');
    expect(r.stderr).toContain('│ line two');
    const log = /full log: (\S+)/.exec(r.stderr)![1]!;
    expect(readFileSync(join(rig.dir, log), 'utf8')).toBe('line one\nline two\n');
    expect(r.stderr).toContain('p:after: skipped, upstream p:bad failed');
    expect(rig.exists('after.txt')).toBe(false);
    const lock = rig.read('pipelines/p.lock');
    expect(lock).toContain('  ok:');
    expect(lock).not.toContain('  bad:');
  });

  it('by default starts nothing new after a failure; --keep-going stops only the downstream', () => {
    rig = new Rig().write(failing);
    const stop = rig.runJson(['-j', '1']);
    expect(stop.outcomes['p:other']).toBe('skipped');
    const keep = rig.runJson(['-j', '1', '--keep-going']);
    expect(keep.code).toBe(1);
    expect(keep.outcomes).toMatchObject({ 'p:ok': 'fresh', 'p:bad': 'failed', 'p:after': 'skipped', 'p:other': 'ran' });
  });

  it('a stage that does not create a declared output fails naming it', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo nothing\n    outs: [made.txt, forgotten/]\n' });
    const r = rig.run(['run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('p:a failed: did not create its declared output "made.txt"');
  });

  it('timeout kills the stage; retries run it again', () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  slow:
    cmd: sleep 20
    timeout: 300ms
    outs: [never.txt]
  flaky:
    cmd: if [ -f tried ]; then echo ok > flaky.txt; else touch tried; exit 1; fi
    retries: 1
    outs: [flaky.txt]
`,
    });
    const started = Date.now();
    const r = rig.run(['run', '--keep-going']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('p:slow failed: timed out after 300ms');
    expect(r.stderr).toContain('▶ p:flaky (attempt 2)');
    expect(rig.read('flaky.txt')).toBe('ok\n');
  });

  it('always_run stages always run; frozen stages never do', () => {
    rig = new Rig().write({
      'pipelines/p.yaml': 'stages:\n  always:\n    cmd: date +%N > t.txt\n    outs: [t.txt]\n    always_run: true\n  ice:\n    cmd: echo no > ice.txt\n    outs: [ice.txt]\n    frozen: true\n',
    });
    expect(rig.runJson().outcomes).toEqual({ 'p:always': 'ran', 'p:ice': 'frozen' });
    expect(rig.runJson().outcomes).toEqual({ 'p:always': 'ran', 'p:ice': 'frozen' });
    expect(rig.exists('ice.txt')).toBe(false);
  });
});

describe('parallelism and resources', () => {
  const four = {
    'pipelines/p.yaml': ['stages:', ...[1, 2, 3, 4].flatMap((i) => [`  s${i}:`, `    cmd: sleep 0.6 && echo ${i} > o${i}.txt`, `    outs: [o${i}.txt]`])].join('\n') + '\n',
  };

  it('-j 2 runs independent stages side by side, -j 1 one at a time', () => {
    rig = new Rig().write(four);
    let t = Date.now();
    expect(rig.run(['run', '-j', '1']).code).toBe(0);
    const serial = Date.now() - t;
    rig.cleanup();
    rig = new Rig().write(four);
    t = Date.now();
    expect(rig.run(['run', '-j', '2']).code).toBe(0);
    const parallel = Date.now() - t;
    expect(serial).toBeGreaterThan(2400);
    expect(parallel).toBeLessThan(serial - 700);
  });

  it('stages sharing a mutex never overlap, whatever -j allows', () => {
    const stage = (n: string) => [`  ${n}:`, `    cmd: echo start ${n} >> trace.log && sleep 0.3 && echo end ${n} >> trace.log && touch ${n}.txt`, `    outs: [${n}.txt]`, '    resources: {mutex: [gpu0]}'];
    rig = new Rig().write({ 'pipelines/p.yaml': ['stages:', ...stage('a'), ...stage('b'), ...stage('c')].join('\n') + '\n' });
    expect(rig.run(['run', '-j', '3']).code).toBe(0);
    const trace = rig.read('trace.log').trim().split('\n');
    for (let i = 0; i < trace.length; i += 2) {
      expect(trace[i]!.startsWith('start')).toBe(true);
      expect(trace[i + 1]).toBe(trace[i]!.replace('start', 'end'));
    }
  });
});

describe('interruption and crashes', () => {
  it('Ctrl-C kills the running stage group, keeps what finished, exits 130', async () => {
    rig = new Rig().write({
      'pipelines/p.yaml': `stages:
  quick:
    cmd: echo done > quick.txt
    outs: [quick.txt]
  long:
    cmd: (sleep 60 & echo $! > child.pid; wait)
    deps: [quick.txt]
    outs: [long.txt]
`,
    });
    const run = start(rig, ['run']);
    await waitFor(() => rig.exists('child.pid') && rig.read('child.pid').trim() !== '');
    const pid = Number(rig.read('child.pid'));
    expect(alive(pid)).toBe(true);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    await waitFor(() => !alive(pid), 5000);
    expect(rig.read('pipelines/p.lock')).toContain('quick:');
    expect(rig.read('pipelines/p.lock')).not.toContain('long:');
    expect(rig.exists('.mlpipe/lock')).toBe(false);
    // The next run starts only what is still stale.
    rig.write({ 'pipelines/p.yaml': rig.read('pipelines/p.yaml').replace('(sleep 60 & echo $! > child.pid; wait)', 'touch long.txt') });
    expect(rig.runJson().outcomes).toEqual({ 'p:quick': 'fresh', 'p:long': 'ran' });
  });

  it('SIGTERM exits 143', async () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  long:\n    cmd: touch started && sleep 60\n    outs: [x]\n' });
    const run = start(rig, ['run']);
    await waitFor(() => rig.exists('started'));
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(143);
  });

  it('kill -9 at random moments never corrupts anything; a rerun completes cleanly', async () => {
    const stages = ['stages:'];
    for (let i = 0; i < 6; i++) {
      stages.push(`  s${i}:`, `    cmd: mkdir -p d${i} && seq 1 2000 > d${i}/data.txt && echo ${i} >> d${i}/data.txt`, `    deps: [${i === 0 ? 'seed.txt' : `d${i - 1}/`}]`, `    outs: [d${i}/]`);
    }
    rig = new Rig().write({ 'seed.txt': 'x', 'pipelines/p.yaml': `${stages.join('\n')}\n` });
    let seed = 12345;
    for (let round = 0; round < 12; round++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const run = start(rig, ['run', '-j', '2']);
      await new Promise((r) => setTimeout(r, 30 + (seed % 400)));
      run.child.kill('SIGKILL');
      await run.done;
      if (round % 3 === 0) rig.write({ 'seed.txt': `x${round}` });
    }
    const lock = rig.exists('pipelines/p.lock') ? rig.read('pipelines/p.lock') : '';
    expect(lock === '' || lock.startsWith('# Written by mlpipe')).toBe(true);
    const final = rig.runJson();
    expect(final.code, final.stderr).toBe(0);
    const status = rig.run(['status', '--check']);
    expect(status.code, status.stdout).toBe(0);
    expect(rig.read('d5/data.txt').split('\n').length).toBe(2002);
  }, 60_000);

  it('a second run waits for the first, then plans afresh: no stage runs twice', async () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  slow:\n    cmd: echo x >> count.log && sleep 1 && touch out.txt\n    outs: [out.txt]\n' });
    const first = start(rig, ['run']);
    await waitFor(() => rig.exists('count.log'));
    const noWait = rig.run(['run', '--no-wait']);
    expect(noWait.code).toBe(1);
    expect(noWait.stderr).toMatch(/another mlpipe is running on this project \(pid \d+: mlpipe run\)/);
    const second = start(rig, ['run']);
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.stderr).toContain('waiting for another mlpipe on this project to finish');
    expect(rig.read('count.log')).toBe('x\n');
  });

  it('a lock left by a dead process is taken over', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: touch a.txt\n    outs: [a.txt]\n' });
    rig.write({ '.mlpipe/lock': JSON.stringify({ pid: 999999, host: require('node:os').hostname(), command: 'mlpipe run', token: 't' }) });
    const r = rig.run(['run', '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('checkout, gc and the cache', () => {
  const project = {
    'params.yaml': 'v: 1\n',
    'pipelines/p.yaml': 'stages:\n  make:\n    cmd: mkdir -p out && echo ${v} > out/v.txt && echo ${v}${v} > out/w.txt\n    outs: [out/]\n',
  };

  it('checkout restores what the lock files record', () => {
    rig = new Rig().write(project);
    rig.runJson();
    rig.write({ 'out/v.txt': 'changed\n' });
    const r = rig.run(['checkout']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('restored out');
    expect(rig.read('out/v.txt')).toBe('1\n');
  });

  it('a corrupt cache object is discarded and reported, and the stage reruns', () => {
    rig = new Rig().write(project);
    rig.runJson();
    const objects = join(rig.dir, '.mlpipe', 'cache', 'objects');
    for (const prefix of readdirSync(objects)) {
      for (const name of readdirSync(join(objects, prefix))) {
        const p = join(objects, prefix, name);
        chmodSync(p, 0o644);
        writeFileSync(p, 'garbage');
      }
    }
    rig.write({ 'out/v.txt': 'changed\n' });
    const r = rig.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/corrupt cache objects? [0-9a-f]{32}/);
    expect(rig.read('out/v.txt')).toBe('1\n');
  });

  it('gc keeps what lock files and the run-cache reference and removes the rest', () => {
    rig = new Rig().write(project);
    rig.runJson();
    rig.write({ 'params.yaml': 'v: 2\n' });
    rig.runJson();
    const keepAll = JSON.parse(rig.run(['gc', '--dry-run', '--json']).stdout);
    expect(keepAll.removed).toBe(0);
    // Forget the run-cache: version 1 is referenced by nothing now.
    require('node:fs').rmSync(join(rig.dir, '.mlpipe', 'run-cache'), { recursive: true });
    const dry = JSON.parse(rig.run(['gc', '--dry-run', '--json']).stdout);
    expect(dry.removed).toBe(3); // two files and the manifest of version 1
    expect(JSON.parse(rig.run(['gc', '--json']).stdout).removed).toBe(3);
    expect(JSON.parse(rig.run(['gc', '--json']).stdout).removed).toBe(0);
    rig.write({ 'out/v.txt': 'x' });
    expect(rig.run(['checkout']).code).toBe(0);
    expect(rig.read('out/v.txt')).toBe('2\n');
  });
});

describe('link modes', () => {
  for (const link of ['hardlink', 'symlink'] as const) {
    it(`restores by ${link} when .mlpipe/config.yaml asks for it`, async () => {
      const { lstatSync, statSync } = await import('node:fs');
      rig = new Rig().write({ '.mlpipe/config.yaml': `cache:\n  link: ${link}\n`, 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo data > a.txt\n    outs: [a.txt]\n' });
      rig.runJson();
      require('node:fs').rmSync(join(rig.dir, 'a.txt'));
      expect(rig.runJson().outcomes['p:a']).toBe('restored');
      expect(rig.read('a.txt')).toBe('data\n');
      const st = lstatSync(join(rig.dir, 'a.txt'));
      if (link === 'symlink') expect(st.isSymbolicLink()).toBe(true);
      else expect(statSync(join(rig.dir, 'a.txt')).nlink).toBe(2);
    });
  }
});

describe('run history', () => {
  it('keeps the records and logs of the newest MLPIPE_KEEP_RUNS runs', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  s:\n    cmd: echo hi; echo x > o.txt\n    outs: [o.txt]\n' });
    for (let i = 0; i < 5; i++) expect(rig.run(['run', '--force'], { env: { MLPIPE_KEEP_RUNS: '3' } }).code).toBe(0);
    const runs = readdirSync(join(rig.dir, '.mlpipe/runs')).sort();
    const logs = readdirSync(join(rig.dir, '.mlpipe/logs')).sort();
    expect(runs).toHaveLength(3);
    expect(logs).toEqual(runs.map((r) => r.replace(/\.json$/, '')));
  });
});
