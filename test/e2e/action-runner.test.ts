// The warm action runner: built-in actions of one run share a process that
// keeps TensorFlow.js loaded, and that changes nothing a user can see —
// models trained one after another in it are byte-identical to models trained
// each in a process of their own; a timeout or Ctrl-C kills the runner (no
// process is left behind) and later action stages get a fresh one.
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IRIS_CSV, Rig, start, waitFor } from '../rig.js';

let rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs) r.cleanup();
  rigs = [];
});

const SPLIT = `  split:
    uses: mlpipe/split
    with: { data: data/in.csv, out: data/split, label: species, seed: 7 }
    deps: [data/in.csv]
    outs: [data/split/]
`;

const train = (name: string, seed: number, extra = '') => `  ${name}:
    uses: mlpipe/train
    with: { train: data/split/train.csv, validation: data/split/validation.csv, label: species, layers: [{ type: dense, units: 8 }, { type: dropout, rate: 0.1 }, { type: dense, units: 4 }], epochs: 6, seed: ${seed}, out: models/${name} }
    deps: [data/split/]
    outs: [models/${name}/]
${extra}`;

/** Processes (other than this one) whose working directory is inside `dir`. */
function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('the warm action runner', () => {
  it('trains models one after another in one runner byte-identical to a process per stage', () => {
    const pipeline = `stages:\n${SPLIT}${train('a', 1)}${train('b', 2)}${train('c', 1)}`;
    const warm = new Rig().write({ 'data/in.csv': IRIS_CSV, 'pipelines/p.yaml': pipeline });
    const cold = new Rig().write({ 'data/in.csv': IRIS_CSV, 'pipelines/p.yaml': pipeline });
    rigs.push(warm, cold);
    const w = warm.run(['run', '-j', '1']);
    expect(w.code, w.stderr).toBe(0);
    const c = cold.run(['run', '-j', '1'], { env: { MLPIPE_ACTION_RUNNER: 'process' } });
    expect(c.code, c.stderr).toBe(0);
    for (const m of ['a', 'b', 'c']) for (const f of ['model.json', 'weights.bin', 'preprocess.json']) expect(warm.read(`models/${m}/${f}`), `${m}/${f}`).toBe(cold.read(`models/${m}/${f}`));
    // The third model is the first's: nothing of earlier jobs (names, random state) leaks into it.
    expect(warm.read('models/c/weights.bin')).toBe(warm.read('models/a/weights.bin'));
    expect(JSON.parse(warm.read('models/b/model.json')).modelTopology.config.layers.map((l: { config: { name: string } }) => l.config.name)).toEqual(['dense_Dense1', 'dropout_Dropout1', 'dense_Dense2', 'dense_Dense3']);
    expect(warm.read('pipelines/p.lock')).toBe(cold.read('pipelines/p.lock'));
    expect(processesIn(warm.dir)).toEqual([]);
  });

  it('a timeout kills the runner; a later action stage of the same run gets a fresh one', () => {
    const pipeline = `stages:\n${SPLIT}${train('slow', 1, '    timeout: 1s\n').replace('epochs: 6', 'epochs: 100000')}  later:
    cmd: sleep 2 && touch later.txt
    outs: [later.txt]
  after:
    uses: mlpipe/split
    with: { data: data/in.csv, out: data/again, label: species, seed: 8 }
    deps: [data/in.csv, later.txt]
    outs: [data/again/]
`;
    const rig = new Rig().write({ 'data/in.csv': IRIS_CSV, 'pipelines/p.yaml': pipeline });
    rigs.push(rig);
    const r = rig.runJson(['-j', '2', '--keep-going']);
    expect(r.outcomes).toEqual({ 'p:split': 'ran', 'p:slow': 'failed', 'p:later': 'ran', 'p:after': 'ran' });
    const failed = r.events.find((e) => e.type === 'stage-finished' && e.stage === 'p:slow')!;
    expect(failed.message).toBe('timed out after 1000ms');
    expect(rig.exists('data/again/train.csv')).toBe(true);
    expect(processesIn(rig.dir)).toEqual([]);
  });

  it('Ctrl-C during an action stage stops it at once and leaves no process behind', async () => {
    const rig = new Rig().write({ 'data/in.csv': IRIS_CSV, 'pipelines/p.yaml': `stages:\n${SPLIT}${train('slow', 1).replace('epochs: 6', 'epochs: 100000')}` });
    rigs.push(rig);
    const run = start(rig, ['run']);
    await waitFor(() => rig.exists('.mlpipe/logs') && readdirSync(join(rig.dir, '.mlpipe/logs')).some((d) => rig.exists(`.mlpipe/logs/${d}/p_slow.log`) && rig.read(`.mlpipe/logs/${d}/p_slow.log`).includes('epoch 2/')), 30_000);
    const stopping = Date.now();
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code).toBe(130);
    expect(Date.now() - stopping).toBeLessThan(5000);
    await waitFor(() => processesIn(rig.dir).length === 0, 5000);
    expect(rig.read('pipelines/p.lock')).not.toContain('slow:');
  });
});
