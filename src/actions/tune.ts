// mlpipe/tune: hyperparameter search over mlpipe/train settings, W&B-sweep
// style. Candidates come from a grid, seeded random sampling, or "bayes": a
// small tree-structured Parzen estimator (after a few random trials, sample
// candidates and keep the one most likely under the good trials' kernel
// density relative to the bad ones'). Each trial is a full mlpipe/train fit on
// the same prepared data; a trial worse than the median of earlier trials at
// the same epoch is stopped early (median stopping). Finished trials are
// cached by everything that decides them in .mlpipe/tune-cache, so a larger
// budget reuses them. Writes every trial (JSON lines) and the best parameters
// (JSON) for train's with.hyperparameters.
//
// With more than one thread (the stage's share of --jobs), trials train at
// once in worker threads, and the results are exactly those of one thread:
// candidates are drawn in trial order from the same seeded generator; a
// "bayes" suggestion, which depends on every earlier trial, waits for them;
// and median stopping of trial i at epoch e waits until every earlier trial
// has passed epoch e or ended, so it compares the same values.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { round6 } from '../ml/metrics.js';
import { writeOutput } from './output.js';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { canonicalJson } from '../cache/canonical.js';
import type { BackendName } from '../ml/backend.js';
import { loadTf, type Tf } from '../ml/tf.js';
import { bundledScript } from '../util/bundled.js';
import { ActionError } from './errors.js';
import { DEFAULT_LAYERS, prepareData, setPath, type TrainInputs, type TrainingData } from './train.js';
import { betterFor, fitTrial, type Goal, type TrialResult } from './tune-trial.js';
import type { FromWorker, ToWorker } from './tune-worker.js';

interface ParameterSpec {
  readonly values?: unknown[];
  readonly min?: number;
  readonly max?: number;
  readonly distribution?: 'uniform' | 'log_uniform' | 'int_uniform';
}

export interface TuneInputs {
  readonly train: string;
  readonly validation: string;
  readonly label: string;
  readonly features?: string[];
  readonly task?: 'classification' | 'regression';
  readonly missing?: 'error' | 'impute' | 'drop';
  readonly base?: Record<string, unknown>;
  readonly method?: 'grid' | 'random' | 'bayes';
  readonly metric?: { name: 'val_loss' | 'val_accuracy' | 'val_mae'; goal?: 'minimize' | 'maximize' };
  readonly parameters: Record<string, ParameterSpec>;
  readonly budget?: number;
  readonly early_terminate?: { min_epochs?: number };
  readonly seed?: number;
  readonly out: string;
  readonly trials?: string;
}

type Params = Record<string, unknown>;

interface Trial {
  readonly index: number;
  readonly params: Params;
  readonly value: number;
  readonly epochs: number;
  readonly stoppedEarly: boolean;
  /** The metric after each epoch (for median stopping of later trials). */
  readonly curve: number[];
  cached?: boolean;
}

const RANDOM_START = 5;

function checkSpecs(parameters: Record<string, ParameterSpec>, method: string): void {
  for (const [name, spec] of Object.entries(parameters)) {
    if (spec.values) continue;
    if (method === 'grid') throw new ActionError(`parameters.${name}: grid search needs a list of values`);
    if (spec.min === undefined || spec.max === undefined || spec.min >= spec.max) throw new ActionError(`parameters.${name}: give values, or min < max`);
    if (spec.distribution === 'log_uniform' && spec.min <= 0) throw new ActionError(`parameters.${name}: log_uniform needs min > 0`);
  }
}

function grid(parameters: Record<string, ParameterSpec>): Params[] {
  let out: Params[] = [{}];
  for (const [name, spec] of Object.entries(parameters)) out = out.flatMap((p) => spec.values!.map((v) => ({ ...p, [name]: v })));
  return out;
}

function sample(parameters: Record<string, ParameterSpec>, rng: ReturnType<typeof xoroshiro128plus>): Params {
  const u = () => uniformFloat64(rng);
  const p: Params = {};
  for (const [name, spec] of Object.entries(parameters)) {
    if (spec.values) p[name] = spec.values[Math.min(spec.values.length - 1, Math.floor(u() * spec.values.length))];
    else if (spec.distribution === 'log_uniform') p[name] = round6(Math.exp(Math.log(spec.min!) + u() * (Math.log(spec.max!) - Math.log(spec.min!))));
    else if (spec.distribution === 'int_uniform') p[name] = Math.floor(spec.min! + u() * (spec.max! - spec.min! + 1));
    else p[name] = round6(spec.min! + u() * (spec.max! - spec.min!));
  }
  return p;
}

/** A parameter value on [0, 1], for the Parzen kernels. */
function unit(spec: ParameterSpec, v: unknown): number {
  if (spec.values) return spec.values.findIndex((x) => canonicalJson(x) === canonicalJson(v)) / Math.max(1, spec.values.length - 1);
  const x = Number(v);
  if (spec.distribution === 'log_uniform') return (Math.log(x) - Math.log(spec.min!)) / (Math.log(spec.max!) - Math.log(spec.min!));
  return (x - spec.min!) / (spec.max! - spec.min!);
}

/** TPE-style choice: the candidate with the highest good/bad density ratio. */
function suggest(parameters: Record<string, ParameterSpec>, done: readonly Trial[], better: (a: number, b: number) => boolean, rng: ReturnType<typeof xoroshiro128plus>): Params {
  const sorted = [...done].sort((a, b) => (better(a.value, b.value) ? -1 : better(b.value, a.value) ? 1 : 0));
  const cut = Math.max(1, Math.ceil(sorted.length * 0.25));
  const good = sorted.slice(0, cut);
  const bad = sorted.slice(cut);
  const names = Object.keys(parameters);
  const density = (p: Params, group: readonly Trial[]) =>
    group.length === 0 ? 1 : group.reduce((acc, t) => acc + Math.exp(-names.reduce((d, n) => d + (unit(parameters[n]!, p[n]) - unit(parameters[n]!, t.params[n])) ** 2, 0) / (2 * 0.15 ** 2)), 1e-12) / group.length;
  let best: Params | undefined;
  let bestScore = -Infinity;
  for (let i = 0; i < 24; i++) {
    const c = sample(parameters, rng);
    const score = density(c, good) / density(c, bad);
    if (score > bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best!;
}

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export async function tune(inputs: TuneInputs, backend: BackendName, log: (line: string) => void, threads = 1): Promise<void> {
  const method = inputs.method ?? 'random';
  checkSpecs(inputs.parameters, method);
  const metric = inputs.metric?.name ?? 'val_loss';
  const goal: Goal = inputs.metric?.goal ?? (metric === 'val_accuracy' ? 'maximize' : 'minimize');
  const better = betterFor(goal);
  const budget = inputs.budget ?? 10;
  const seed = inputs.seed ?? 0;
  const base: TrainInputs = {
    layers: DEFAULT_LAYERS,
    ...(inputs.base as object),
    train: inputs.train,
    validation: inputs.validation,
    label: inputs.label,
    ...(inputs.features ? { features: inputs.features } : {}),
    ...(inputs.task ? { task: inputs.task } : {}),
    ...(inputs.missing ? { missing: inputs.missing } : {}),
    out: '(not saved)',
  } as TrainInputs;
  const data = prepareData(base);
  const cacheDir = join('.mlpipe', 'tune-cache');
  mkdirSync(cacheDir, { recursive: true });
  const dataKey = { train: fileHash(inputs.train), validation: fileHash(inputs.validation), label: inputs.label, features: inputs.features ?? null, task: inputs.task ?? null, missing: inputs.missing ?? null };
  const rng = xoroshiro128plus(seed);
  // A small seed gives a low-entropy state whose first outputs sit near the ends of the range: skip them.
  for (let i = 0; i < 16; i++) uniformFloat64(rng);
  const plannedGrid = method === 'grid' ? grid(inputs.parameters).slice(0, budget) : undefined;
  const minEpochs = inputs.early_terminate?.min_epochs;
  const total = plannedGrid?.length ?? budget;

  const trials: (Trial | undefined)[] = new Array(total).fill(undefined);
  /** Whether trials 0..index-1 have all ended. */
  const earlierDone = (index: number) => trials.slice(0, index).every((t) => t !== undefined);
  const candidate = (index: number): Params =>
    // Candidates depend only on earlier trials and the seed, so a rerun with a larger budget repeats the same first ones.
    plannedGrid ? plannedGrid[index]! : method === 'bayes' && index >= RANDOM_START ? suggest(inputs.parameters, trials.slice(0, index) as Trial[], better, rng) : sample(inputs.parameters, rng);
  const settingsOf = (params: Params) => {
    const settings = structuredClone(base) as unknown as Record<string, unknown>;
    for (const [path, value] of Object.entries(params)) setPath(settings, path, value);
    return settings;
  };
  /** The trial's cache file; with median stopping it depends on every earlier trial's curve, so only once they have ended. */
  const cacheFileOf = (index: number, settings: Record<string, unknown>) =>
    join(cacheDir, `${createHash('sha256').update(canonicalJson({ v: 1, backend, data: dataKey, settings, metric, minEpochs: minEpochs ?? null, earlier: minEpochs ? trials.slice(0, index).map((t) => t!.curve) : null })).digest('hex')}.json`);

  /** Median stopping: go on unless the median of earlier trials at this epoch is better. */
  const keepGoing = (index: number, epoch: number, value: number, curveAt: (j: number) => number | undefined) => {
    if (minEpochs === undefined || epoch < minEpochs) return true;
    const earlier = Array.from({ length: index }, (_, j) => curveAt(j)).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    if (earlier.length < 2) return true;
    return !better(earlier[Math.floor(earlier.length / 2)]!, value);
  };

  const pool = new TrialPool(Math.max(1, Math.min(threads, total, availableParallelism())), backend, data, (j) => trials[j]?.curve);
  if (pool.size > 1) log(`training up to ${pool.size} trials at once`);
  const started: { params: Params; settings: Record<string, unknown>; cached: boolean }[] = [];
  let logged = 0;
  /** Logs (and caches) finished trials in trial order. */
  const settle = () => {
    while (logged < total && trials[logged]) {
      const trial = trials[logged]!;
      if (!trial.cached) writeFileSync(cacheFileOf(logged, started[logged]!.settings), `${JSON.stringify(trial)}\n`);
      log(`trial ${logged + 1}/${total}: ${Object.entries(trial.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')} → ${metric} ${trial.value}${trial.stoppedEarly ? ' (stopped early)' : ''}${trial.cached ? ' (cached)' : ''}`);
      logged++;
    }
  };
  try {
    const running = new Set<Promise<void>>();
    for (let index = 0; index < total || running.size > 0; ) {
      // Start what may start: a free thread, and (for a bayes suggestion) every earlier trial ended.
      while (index < total && running.size < pool.size && (method !== 'bayes' || index < RANDOM_START || earlierDone(index))) {
        const i = index++;
        const params = candidate(i);
        const settings = settingsOf(params);
        const cacheFile = minEpochs === undefined || earlierDone(i) ? cacheFileOf(i, settings) : undefined;
        if (cacheFile && existsSync(cacheFile)) {
          trials[i] = { ...(JSON.parse(readFileSync(cacheFile, 'utf8')) as Trial), index: i, params, cached: true };
          started[i] = { params, settings, cached: true };
          pool.changed();
          continue;
        }
        started[i] = { params, settings, cached: false };
        const run = pool
          .fit(i, settings as unknown as TrainInputs, metric, goal, minEpochs, (epoch, value, curveAt) => keepGoing(i, epoch, value, curveAt))
          .then((result) => {
            trials[i] = { index: i, params, ...result };
            pool.changed();
          });
        const tracked: Promise<void> = run.finally(() => running.delete(tracked));
        tracked.catch(() => {}); // a failure is seen by the race below; the others' are moot then
        running.add(tracked);
      }
      settle();
      if (running.size > 0) await Promise.race(running);
      else if (index < total) continue;
    }
    settle();
  } finally {
    await pool.close();
  }
  const done = trials as Trial[];
  const winner = done.filter((t) => !t.stoppedEarly).reduce((a, t) => (better(t.value, a.value) ? t : a), done.find((t) => !t.stoppedEarly) ?? done[0]!);
  writeOutput(inputs.out, `${JSON.stringify({ metric, goal, value: winner.value, trial: winner.index + 1, params: winner.params }, null, 2)}\n`);
  if (inputs.trials) {
    writeOutput(inputs.trials, done.map((t) => JSON.stringify({ trial: t.index + 1, params: t.params, [metric]: t.value, epochs: t.epochs, stoppedEarly: t.stoppedEarly })).join('\n') + '\n');
  }
  log(`best of ${done.length} trials: trial ${winner.index + 1} (${metric} ${winner.value}) → ${inputs.out}`);
}

type Decide = (epoch: number, value: number, curveAt: (j: number) => number | undefined) => boolean;

/**
 * Where trials train: this thread (one at a time) when there is one thread,
 * else that many worker threads. It keeps every running trial's curve as
 * reported, so a median-stopping decision for trial i at epoch e is made once
 * each earlier trial has reported epoch e or ended.
 */
class TrialPool {
  private tf: Promise<Tf> | undefined;
  private readonly workers: { worker: Worker; busy: boolean }[] = [];
  /** Epoch values reported so far by running trials, by trial index. */
  private readonly curves = new Map<number, number[]>();
  private readonly pending = new Set<() => boolean>();

  constructor(
    readonly size: number,
    private readonly backend: BackendName,
    private readonly data: TrainingData,
    /** An ended trial's whole curve (undefined while it runs or before it starts). */
    private readonly endedCurve: (j: number) => readonly number[] | undefined,
  ) {}

  /** A trial ended (or was cached): decisions waiting for it may be made now. */
  changed(): void {
    for (const p of [...this.pending]) if (p()) this.pending.delete(p);
  }

  /** Once every earlier trial has passed `epoch` or ended, decides with their values at it. */
  private decideWhenKnown(index: number, epoch: number, decide: Decide): Promise<boolean> {
    return new Promise((resolve) => {
      const attempt = () => {
        for (let j = 0; j < index; j++) if (!this.endedCurve(j) && (this.curves.get(j)?.length ?? 0) < epoch) return false;
        resolve(decide(epoch, this.curves.get(index)![epoch - 1]!, (j) => (this.endedCurve(j) ?? this.curves.get(j))?.[epoch - 1]));
        return true;
      };
      if (!attempt()) this.pending.add(attempt);
    });
  }

  async fit(index: number, settings: TrainInputs, metric: string, goal: Goal, askFrom: number | undefined, decide: Decide): Promise<TrialResult> {
    const curve: number[] = [];
    this.curves.set(index, curve);
    const onEpoch = (epoch: number, value: number) => {
      curve[epoch - 1] = value;
      this.changed();
      return askFrom === undefined || epoch < askFrom ? true : this.decideWhenKnown(index, epoch, decide);
    };
    try {
      if (this.size === 1) {
        this.tf ??= loadTf(this.backend);
        return await fitTrial(await this.tf, this.data, settings, metric, goal, onEpoch);
      }
      return await this.inWorker({ type: 'trial', index, settings, metric, goal, ...(askFrom !== undefined ? { askFrom } : {}) }, onEpoch);
    } finally {
      // An ended trial is read from its result from now on.
      this.curves.delete(index);
    }
  }

  private inWorker(job: Extract<ToWorker, { type: 'trial' }>, onEpoch: (epoch: number, value: number) => boolean | Promise<boolean>): Promise<TrialResult> {
    let slot = this.workers.find((w) => !w.busy);
    if (!slot) {
      slot = { worker: new Worker(bundledScript('tune-worker'), { workerData: { backend: this.backend, data: this.data } }), busy: false };
      this.workers.push(slot);
    }
    const { worker } = slot;
    slot.busy = true;
    return new Promise<TrialResult>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.index !== job.index) return;
        if (m.type === 'epoch') {
          void Promise.resolve(onEpoch(m.epoch, m.value)).then((keepGoing) => worker.postMessage({ type: 'decision', index: m.index, epoch: m.epoch, keepGoing } satisfies ToWorker));
          return;
        }
        worker.off('message', onMessage);
        worker.off('error', onError);
        slot.busy = false;
        if (m.type === 'done') resolve(m.result);
        else reject(m.actionError ? new ActionError(m.message) : new Error(m.message));
      };
      const onError = (e: Error) => {
        worker.off('message', onMessage);
        reject(e);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
