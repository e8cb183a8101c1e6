// Issue 13, races and honesty: checkout waiting for a run acts on what the run
// left; status verifies what it calls restorable; temp files of a killed
// writer are cleaned up; a stage that ignores SIGTERM never outlives mlpipe.
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig, start, waitFor } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

describe('races', () => {
  it('checkout that waited for a run restores nothing stale: outputs and lock agree afterwards', async () => {
    const pipeline = {
      'pipelines/p.yaml': `stages:
  make:
    cmd: touch started && sleep 1 && cp in.txt out.txt
    deps: [in.txt]
    outs: [out.txt]
`,
    };
    rig = new Rig().write({ ...pipeline, 'in.txt': 'A\n' });
    expect(rig.run(['run']).code).toBe(0);
    for (let round = 0; round < 3; round++) {
      const value = `B${round}\n`;
      rig.write({ 'in.txt': value });
      rmStarted();
      const run = start(rig, ['run']);
      await waitFor(() => rig.exists('started'));
      const checkout = start(rig, ['checkout']);
      const [r, c] = await Promise.all([run.done, checkout.done]);
      expect(r.code, r.stderr).toBe(0);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stderr).toContain('waiting for another mlpipe');
      expect(rig.read('out.txt')).toBe(value);
      expect(rig.run(['status', '--check']).code).toBe(0);
    }
  }, 30_000);

  function rmStarted() {
    if (rig.exists('started')) require('node:fs').rmSync(join(rig.dir, 'started'));
  }
});

describe('status is honest about the cache', () => {
  it('a corrupt cache object is reported as corrupt, not restorable; run then reruns the stage', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  make:\n    cmd: mkdir -p out && echo 1 > out/a && echo 2 > out/b\n    outs: [out/]\n' });
    expect(rig.run(['run']).code).toBe(0);
    const objects = join(rig.dir, '.mlpipe', 'cache', 'objects');
    // Corrupt the object holding out/b's bytes ("2\n").
    for (const prefix of readdirSync(objects)) {
      for (const name of readdirSync(join(objects, prefix))) {
        const p = join(objects, prefix, name);
        if (readFileSync(p, 'utf8') === '2\n') {
          chmodSync(p, 0o644);
          writeFileSync(p, 'garbage');
        }
      }
    }
    require('node:fs').rmSync(join(rig.dir, 'out'), { recursive: true });
    const s = JSON.parse(rig.run(['status', '--json']).stdout) as { stages: { id: string; status: string; reasons: string[] }[] };
    expect(s.stages[0]!.status).toBe('stale');
    expect(s.stages[0]!.reasons[0]).toMatch(/^output missing: out \(corrupt cache object [0-9a-f]{32}\)$/);
    const r = rig.runJson();
    expect(r.outcomes['p:make']).toBe('ran');
    expect(rig.read('out/b')).toBe('2\n');
  });
});

describe('a killed writer leaves nothing behind', () => {
  it('the next run removes temp files whose writer is dead, and keeps a live writer\'s', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  make:\n    cmd: echo 1 > out.txt\n    outs: [out.txt]\n' });
    // A pid that certainly ended: a finished child of ours.
    const dead = (require('node:child_process').spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout as string).trim();
    const deadTemp = `pipelines/.p.lock.${dead}.1764000000000.tmp`;
    const liveTemp = `pipelines/.p.lock.${process.pid}.1764000000000.tmp`;
    rig.write({ [deadTemp]: 'schema: 1\nstag', [liveTemp]: 'being written' });
    expect(rig.run(['run']).code).toBe(0);
    expect(rig.exists(deadTemp)).toBe(false);
    expect(rig.exists(liveTemp)).toBe(true);
  });
});

describe('Ctrl-C and a stage that ignores SIGTERM', () => {
  /** The process's state letter (R, S, Z, …), or undefined once it is gone. */
  const state = (pid: number) => {
    try {
      return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  };

  for (const command of ['run', 'watch']) {
    it(`${command}: the stage is killed after the grace period, before mlpipe exits (130)`, async () => {
      rig = new Rig().write({ 'pipelines/p.yaml': "stages:\n  stubborn:\n    cmd: trap '' TERM INT; echo $$ > pid; sleep 30 & echo $! > child; wait\n    outs: [x]\n" });
      const run = start(rig, [command, '--reporter', 'plain']);
      await waitFor(() => rig.exists('child') && rig.read('child').trim() !== '');
      const pids = [Number(rig.read('pid')), Number(rig.read('child'))];
      const sent = Date.now();
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code).toBe(130);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(1500); // the grace period, not killed at once
      for (const pid of pids) expect(['Z', undefined], `pid ${pid}`).toContain(state(pid));
      expect(existsSync(join(rig.dir, 'x'))).toBe(false);
    }, 20_000);
  }
});
