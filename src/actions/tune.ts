// mlpipe/tune: hyperparameter search over mlpipe/train settings, W&B-sweep
// style. Candidates come from a grid, seeded random sampling, or "bayes": a
// small tree-structured Parzen estimator (after a few random trials, sample
// candidates and keep the one most likely under the good trials' kernel
// density relative to the bad ones'). Trials run in this process, one after
// another, each a full mlpipe/train fit on the same prepared data; a trial
// worse than the median of earlier trials at the same epoch is stopped early
// (median stopping). Finished trials are cached by everything that decides
// them in .mlpipe/tune-cache, so a larger budget reuses them. Writes every
// trial (JSON lines) and the best parameters (JSON) for train's
// with.hyperparameters.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { round6 } from '../ml/metrics.js';
import { writeOutput } from './output.js';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { canonicalJson } from '../cache/canonical.js';
import type { BackendName } from '../ml/backend.js';
import { loadTf } from '../ml/tf.js';
import { ActionError } from './errors.js';
import { DEFAULT_LAYERS, fitModel, prepareData, setPath, type TrainInputs } from './train.js';

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

export async function tune(inputs: TuneInputs, backend: BackendName, log: (line: string) => void): Promise<void> {
  const method = inputs.method ?? 'random';
  checkSpecs(inputs.parameters, method);
  const metric = inputs.metric?.name ?? 'val_loss';
  const goal = inputs.metric?.goal ?? (metric === 'val_accuracy' ? 'maximize' : 'minimize');
  const better = (a: number, b: number) => (goal === 'minimize' ? a < b : a > b);
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
  const tf = await loadTf(backend);
  const cacheDir = join('.mlpipe', 'tune-cache');
  mkdirSync(cacheDir, { recursive: true });
  const dataKey = { train: fileHash(inputs.train), validation: fileHash(inputs.validation), label: inputs.label, features: inputs.features ?? null, task: inputs.task ?? null, missing: inputs.missing ?? null };
  const rng = xoroshiro128plus(seed);
  // A small seed gives a low-entropy state whose first outputs sit near the ends of the range: skip them.
  for (let i = 0; i < 16; i++) uniformFloat64(rng);
  const plannedGrid = method === 'grid' ? grid(inputs.parameters).slice(0, budget) : undefined;
  const minEpochs = inputs.early_terminate?.min_epochs;
  const trials: Trial[] = [];
  const total = plannedGrid?.length ?? budget;
  for (let index = 0; index < total; index++) {
    // Candidates depend only on earlier trials and the seed, so a rerun with a larger budget repeats the same first ones.
    const params = plannedGrid ? plannedGrid[index]! : method === 'bayes' && trials.length >= RANDOM_START ? suggest(inputs.parameters, trials, better, rng) : sample(inputs.parameters, rng);
    const settings = structuredClone(base) as unknown as Record<string, unknown>;
    for (const [path, value] of Object.entries(params)) setPath(settings, path, value);
    const cacheKey = createHash('sha256').update(canonicalJson({ v: 1, backend, data: dataKey, settings, metric, minEpochs: minEpochs ?? null, earlier: minEpochs ? trials.map((t) => t.curve) : null })).digest('hex');
    const cacheFile = join(cacheDir, `${cacheKey}.json`);
    let trial: Trial;
    if (existsSync(cacheFile)) {
      trial = { ...(JSON.parse(readFileSync(cacheFile, 'utf8')) as Trial), index, params, cached: true };
    } else {
      const curve: number[] = [];
      let stoppedEarly = false;
      const fit = await fitModel(tf, settings as unknown as TrainInputs, data, () => {}, (epoch, row) => {
        const value = row[metric];
        if (value === undefined) throw new ActionError(`metric ${metric} is not measured by this model (it has ${Object.keys(row).filter((k) => k !== 'epoch').join(', ')})`);
        curve.push(value);
        if (minEpochs === undefined || epoch < minEpochs) return true;
        const earlier = trials.map((t) => t.curve[epoch - 1]).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
        if (earlier.length < 2) return true;
        const median = earlier[Math.floor(earlier.length / 2)]!;
        if (better(median, value)) {
          stoppedEarly = true;
          return false;
        }
        return true;
      });
      fit.model.dispose();
      const best = fit.bestEpoch > 0 ? fit.history[fit.bestEpoch - 1]! : fit.history.reduce((a, r) => (better(r[metric]!, a[metric]!) ? r : a));
      trial = { index, params, value: best[metric]!, epochs: fit.history.length, stoppedEarly, curve };
      writeFileSync(cacheFile, `${JSON.stringify(trial)}\n`);
    }
    trials.push(trial);
    log(`trial ${index + 1}/${total}: ${Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')} → ${metric} ${trial.value}${trial.stoppedEarly ? ' (stopped early)' : ''}${trial.cached ? ' (cached)' : ''}`);
  }
  const winner = trials.filter((t) => !t.stoppedEarly).reduce((a, t) => (better(t.value, a.value) ? t : a), trials.find((t) => !t.stoppedEarly) ?? trials[0]!);
  writeOutput(inputs.out, `${JSON.stringify({ metric, goal, value: winner.value, trial: winner.index + 1, params: winner.params }, null, 2)}\n`);
  if (inputs.trials) {
    writeOutput(inputs.trials, trials.map((t) => JSON.stringify({ trial: t.index + 1, params: t.params, [metric]: t.value, epochs: t.epochs, stoppedEarly: t.stoppedEarly })).join('\n') + '\n');
  }
  log(`best of ${trials.length} trials: trial ${winner.index + 1} (${metric} ${winner.value}) → ${inputs.out}`);
}
