// mlpipe/evaluate: scores a model mlpipe/train wrote on labelled CSV data,
// applying its saved preprocessing — or, in cross-validation mode, trains a
// model per fold of a split directory and reports mean ± std — writes the
// metrics as JSON, and — with
// thresholds — is a quality gate: a breach fails the stage naming the metric,
// its value and the threshold (the metrics file is written first either way).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeOutput } from './output.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { BackendName } from '../ml/backend.js';
import { encode, type Encoded, type Preprocess } from '../ml/features.js';
import { classificationMetrics, meets, regressionMetrics, round6 } from '../ml/metrics.js';
import { loadModel } from '../ml/model-files.js';
import { modelOutputs } from '../ml/predict.js';
import { readTable } from '../ml/table.js';
import { loadTf, type Tf } from '../ml/tf.js';
import { fitModel, prepareData, type TrainInputs } from './train.js';
import { ActionError } from './errors.js';
import type { ActionContext } from './launch.js';
import { initHashing, hashFile } from '../cache/hash.js';
import { fetchModelDir } from '../registry/model-store.js';
import { flavorOf, parseRef, readModel, refText, RegistryError, resolveRef, type ModelVersion } from '../registry/registry.js';

export interface EvaluateInputs {
  readonly model?: string;
  readonly data?: string;
  readonly folds?: string;
  readonly train?: Record<string, unknown>;
  readonly metrics: string;
  readonly thresholds?: Record<string, string>;
  readonly compare_to?: string;
}

/** The model's metrics on encoded data. */
async function score(tf: Tf, model: LayersModel, pre: Preprocess, encoded: Encoded): Promise<Record<string, unknown>> {
  const values = await modelOutputs(tf, model, encoded);
  const truth = Array.from(encoded.y);
  return pre.task === 'classification'
    ? { task: pre.task, rows: encoded.rows, ...classificationMetrics(pre.classes!, truth, values) }
    : { task: pre.task, rows: encoded.rows, ...regressionMetrics(truth, values.map((v) => v[0]!)) };
}

/** Cross-validation: a model per fold of a split directory; each metric as mean ± std over the folds. */
async function crossValidate(tf: Tf, inputs: EvaluateInputs, log: (line: string) => void): Promise<Record<string, unknown>> {
  let folds: string[];
  try {
    folds = readdirSync(inputs.folds!).filter((d) => /^fold-\d+$/.test(d)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  } catch {
    folds = [];
  }
  if (folds.length < 2) throw new ActionError(`${inputs.folds} has no fold-N directories: write it with mlpipe/split and folds: k`);
  const perFold: Record<string, unknown>[] = [];
  for (const fold of folds) {
    const settings = { ...(inputs.train as object), train: join(inputs.folds!, fold, 'train.csv'), validation: join(inputs.folds!, fold, 'validation.csv'), out: '(not saved)' } as TrainInputs;
    const data = prepareData(settings);
    const { model } = await fitModel(tf, settings, data, () => {});
    const scores = await score(tf, model, data.pre, data.va!);
    model.dispose();
    perFold.push(scores);
    log(`${fold}: ${Object.entries(scores).filter(([k, v]) => typeof v === 'number' && k !== 'rows').map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const summary: Record<string, unknown> = { task: perFold[0]!.task, folds: folds.length };
  for (const key of Object.keys(perFold[0]!)) {
    const values = perFold.map((f) => f[key]);
    if (key === 'rows' || !values.every((v) => typeof v === 'number')) continue;
    const nums = values as number[];
    const mean = nums.reduce((a, b) => a + b, 0) / nums.length;
    const std = Math.sqrt(nums.reduce((a, b) => a + (b - mean) ** 2, 0) / nums.length);
    summary[key] = round6(mean);
    summary[`${key}_std`] = round6(std);
  }
  summary.per_fold = perFold.map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => typeof v === 'number')));
  return summary;
}

/**
 * compare_to: the registered champion scored on the same rows (its own
 * preprocessing applied to them), or null when there is no such version yet.
 */
async function scoreChampion(tf: Tf, inputs: EvaluateInputs, root: string, log: (line: string) => void): Promise<Record<string, unknown> | null> {
  const ref = parseRef(inputs.compare_to!);
  if (!ref) throw new ActionError(`compare_to "${inputs.compare_to}" is not a model reference: write <model>@<alias> or <model>:<version>`);
  let version: ModelVersion;
  try {
    const record = readModel(root, ref.name);
    if (!record || (ref.alias !== undefined && !(ref.alias in record.aliases))) {
      log(`no champion yet: ${refText(ref)} does not exist, so the challenger has nothing to beat`);
      return null;
    }
    version = resolveRef(record, ref);
    if (flavorOf(version) !== 'tfjs') throw new ActionError(`compare_to ${refText(ref)} is ${ref.name}:${version.version}, a ${flavorOf(version)} model: mlpipe/evaluate scores tfjs models; score both in your own evaluation and give register's promote that metrics file`);
    let dir: string;
    try {
      dir = await fetchModelDir(root, ref.name, version);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      // A fresh clone without the champion's bytes: said, and register falls back to its recorded scores.
      log(`warning: the champion ${ref.name}:${version.version} cannot be scored here: ${e.message}`);
      return { model: ref.name, ...(ref.alias !== undefined ? { alias: ref.alias } : {}), version: version.version, hash: version.hash, unavailable: e.message };
    }
    const { model, pre } = await loadModel(tf, dir);
    const encoded = encode(pre, readTable(inputs.data!), inputs.data!);
    const scores = await score(tf, model, pre, encoded);
    model.dispose();
    const numbers = Object.fromEntries(Object.entries(scores).filter(([k, v]) => typeof v === 'number' && k !== 'rows'));
    return { model: ref.name, ...(ref.alias !== undefined ? { alias: ref.alias } : {}), version: version.version, hash: version.hash, rows: scores.rows, ...numbers };
  } catch (e) {
    if (e instanceof RegistryError) throw new ActionError(`compare_to ${refText(ref)}: ${e.message}${e.suggestion ? ` — ${e.suggestion}` : ''}`);
    throw e;
  }
}

export async function evaluate(inputs: EvaluateInputs, backend: BackendName, log: (line: string) => void, context?: ActionContext): Promise<void> {
  const tf = await loadTf(backend);
  let scores: Record<string, unknown>;
  let what: string;
  if (inputs.folds) {
    if (inputs.compare_to !== undefined) throw new ActionError('compare_to scores a registered model on the rows of data: use it with model and data, not with folds');
    scores = await crossValidate(tf, inputs, log);
    what = `${scores.folds}-fold cross-validation (mean)`;
  } else {
    const { model, pre } = await loadModel(tf, inputs.model!);
    const encoded = encode(pre, readTable(inputs.data!), inputs.data!);
    if (encoded.rows === 0) throw new ActionError(`${inputs.data}: no rows to evaluate`);
    scores = await score(tf, model, pre, encoded);
    model.dispose();
    what = inputs.data!;
    await initHashing();
    scores.data = { path: inputs.data!, hash: hashFile(inputs.data!).hash };
    if (inputs.compare_to !== undefined) {
      const champion = await scoreChampion(tf, inputs, context?.root ?? process.cwd(), log);
      scores.champion = champion;
      if (champion) {
        const shown = Object.keys(champion).filter((k) => typeof scores[k] === 'number' && typeof champion[k] === 'number' && k !== 'rows' && k !== 'version');
        log(`challenger vs champion ${String(champion.model)}:${String(champion.version)} on the same ${String(champion.rows)} rows: ${shown.map((k) => `${k} ${scores[k]} vs ${champion[k]}`).join(', ')}`);
      }
    }
  }
  scores.backend = backend;
  writeOutput(inputs.metrics, `${JSON.stringify(scores, null, 2)}\n`);
  const headline = Object.entries(scores).filter(([k, v]) => typeof v === 'number' && k !== 'rows' && k !== 'folds' && !k.endsWith('_std'));
  log(`${what}: ${headline.map(([k, v]) => `${k} ${v}${typeof scores[`${k}_std`] === 'number' ? ` ± ${scores[`${k}_std`]}` : ''}`).join(', ')}`);
  const breaches: string[] = [];
  for (const [name, condition] of Object.entries(inputs.thresholds ?? {})) {
    const value = scores[name];
    if (typeof value !== 'number') throw new ActionError(`threshold on ${name}: a ${String(scores.task)} model has no ${name} (it has ${headline.map(([k]) => k).join(', ')})`);
    if (meets(value, condition)) log(`gate passed: ${name} ${value} ${condition.trim()}`);
    else breaches.push(`${name} is ${value}, the threshold is ${condition.trim()}`);
  }
  if (breaches.length > 0) throw new ActionError(`quality gate failed: ${breaches.join('; ')}`);
}
