// mlpipe/train: a feed-forward network on tabular CSV data, with
// TensorFlow.js. Preprocessing is fitted on the training rows (ml/features).
// Reproducible: layer initialisers and dropout are seeded, and each epoch's
// order comes from a seeded shuffle (pure-rand) rather than fit's own, so the
// same inputs on the same backend give byte-identical model files. Early
// stopping keeps the best epoch's weights. Every epoch disposes what it made:
// the tensor count is logged per epoch and must not grow.
import { readFileSync } from 'node:fs';
import { round6 } from '../ml/metrics.js';
import { writeOutput } from './output.js';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { BackendName } from '../ml/backend.js';
import { encode, fitPreprocess, inputWidth, type Encoded, type MissingPolicy, type Preprocess } from '../ml/features.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { readTable } from '../ml/table.js';
import { saveModel } from '../ml/model-files.js';
import { loadTf, type Tf } from '../ml/tf.js';
import { ActionError } from './errors.js';

export interface TrainInputs {
  readonly train: string;
  readonly validation?: string;
  readonly label: string;
  readonly features?: string[];
  readonly task?: 'classification' | 'regression';
  readonly missing?: MissingPolicy;
  readonly layers?: { type: 'dense' | 'dropout' | 'batchNormalization'; units?: number; activation?: string; rate?: number }[];
  readonly loss?: string;
  readonly optimizer?: { name?: 'adam' | 'sgd' | 'rmsprop' | 'adagrad'; learningRate?: number };
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly earlyStopping?: { patience?: number; monitor?: 'loss' | 'val_loss'; minDelta?: number };
  readonly classWeights?: 'balanced' | Record<string, number>;
  readonly seed?: number;
  /** A JSON file mlpipe/tune wrote: its best `params` (dotted paths) override these settings. */
  readonly hyperparameters?: string;
  readonly out: string;
  readonly history?: string;
  readonly metrics?: string;
}


/** One hidden layer when the stage names none. */
export const DEFAULT_LAYERS: NonNullable<TrainInputs['layers']> = [{ type: 'dense', units: 16, activation: 'relu' }];

/** The training (and validation) data, encoded with preprocessing fitted on the training rows. */
export function prepareData(inputs: TrainInputs): TrainingData {
  const trainTable = readTable(inputs.train);
  const pre = fitPreprocess(trainTable, inputs.train, { label: inputs.label, ...(inputs.features ? { features: inputs.features } : {}), ...(inputs.task ? { task: inputs.task } : {}), missing: inputs.missing ?? 'error' });
  const tr = encode(pre, trainTable, inputs.train);
  const va = inputs.validation ? encode(pre, readTable(inputs.validation), inputs.validation) : undefined;
  if (tr.rows === 0) throw new ActionError(`${inputs.train}: no rows left to train on${tr.dropped ? ` (${tr.dropped} dropped for missing values)` : ''}`);
  const classification = pre.task === 'classification';
  const classes = pre.classes ?? [];
  if (classification && classes.length < 2) throw new ActionError(`${inputs.train}: the label "${inputs.label}" has one class only (${classes[0]}); classification needs two or more`);
  if (inputs.earlyStopping?.monitor === 'val_loss' && !va) throw new ActionError('earlyStopping.monitor: val_loss needs with.validation');
  return { pre, tr, ...(va ? { va } : {}) };
}

export interface TrainingData {
  readonly pre: Preprocess;
  readonly tr: Encoded;
  readonly va?: Encoded;
}

export interface FitResult {
  readonly model: LayersModel;
  readonly history: Record<string, number>[];
  /** 0 without early stopping. */
  readonly bestEpoch: number;
  readonly tensorsAfterFirst: number | undefined;
}

/**
 * Builds and fits the model. `keepGoing(epoch, row)` may end training early
 * (tune's early termination). The caller disposes the model.
 */
export async function fitModel(tf: Tf, inputs: TrainInputs, data: TrainingData, log: (line: string) => void, keepGoing: (epoch: number, row: Record<string, number>) => boolean | Promise<boolean> = () => true): Promise<FitResult> {
  const { pre, tr, va } = data;
  const classification = pre.task === 'classification';
  const classes = pre.classes ?? [];
  const { core, layers: L } = tf;
  const seed = inputs.seed ?? 0;
  const width = inputWidth(pre);
  const outputs = classification ? classes.length : 1;
  // Names as TensorFlow.js gives the first model of a process ("dense_Dense1", …), set
  // explicitly: its own counters run on across the models of a warm runner.
  const counts: Record<string, number> = {};
  const named = (className: string, snake: string) => ({ name: `${snake}_${className}${(counts[className] = (counts[className] ?? 0) + 1)}` });
  const model = L.sequential({ name: 'sequential_1' });
  const specs = inputs.layers ?? DEFAULT_LAYERS;
  specs.forEach((spec, i) => {
    const first = i === 0 ? { inputShape: [width] } : {};
    if (spec.type === 'dense') {
      if (!spec.units) throw new ActionError(`layers[${i}]: a dense layer needs units`);
      model.add(L.layers.dense({ units: spec.units, activation: (spec.activation ?? 'relu') as never, kernelInitializer: L.initializers.glorotUniform({ seed: seed + i }), ...first, ...named('Dense', 'dense') }));
    } else if (spec.type === 'dropout') model.add(L.layers.dropout({ rate: spec.rate ?? 0.5, seed: seed + i, ...first, ...named('Dropout', 'dropout') }));
    else if (spec.type === 'batchNormalization') model.add(L.layers.batchNormalization({ ...first, ...named('BatchNormalization', 'batch_normalization') }));
    else throw new ActionError(`layers[${i}]: unknown layer type ${JSON.stringify(spec.type)} (dense, dropout, batchNormalization)`);
  });
  model.add(L.layers.dense({ units: outputs, activation: classification ? 'softmax' : 'linear', kernelInitializer: L.initializers.glorotUniform({ seed: seed + specs.length }), ...(specs.length === 0 ? { inputShape: [width] } : {}), ...named('Dense', 'dense') }));
  const lr = inputs.optimizer?.learningRate ?? 0.01;
  const optimizers = { adam: () => core.train.adam(lr), sgd: () => core.train.sgd(lr), rmsprop: () => core.train.rmsprop(lr), adagrad: () => core.train.adagrad(lr) };
  model.compile({
    optimizer: optimizers[inputs.optimizer?.name ?? 'adam'](),
    loss: inputs.loss ?? (classification ? 'categoricalCrossentropy' : 'meanSquaredError'),
    metrics: classification ? ['accuracy'] : ['mae'],
  });

  const toY = (y: Float32Array) => (classification ? core.tidy(() => core.cast(core.oneHot(core.tensor1d(y, 'int32'), outputs), 'float32')) : core.tensor2d(y, [y.length, 1]));
  const xTrain = core.tensor2d(tr.x, [tr.rows, width]);
  const yTrain = toY(tr.y);
  const validationData = va ? ([core.tensor2d(va.x, [va.rows, width]), toY(va.y)] as [import('@tensorflow/tfjs-core').Tensor, import('@tensorflow/tfjs-core').Tensor]) : undefined;

  let classWeight: Record<number, number> | undefined;
  if (classification && inputs.classWeights) {
    const counts = classes.map((_, c) => tr.y.filter((v) => v === c).length);
    classWeight = Object.fromEntries(
      classes.map((name, c) => {
        if (inputs.classWeights === 'balanced') return [c, tr.rows / (classes.length * Math.max(1, counts[c]!))];
        const w = (inputs.classWeights as Record<string, number>)[name];
        return [c, w ?? 1];
      }),
    );
  }

  const epochs = inputs.epochs ?? 50;
  const batchSize = inputs.batchSize ?? 32;
  const monitor = inputs.earlyStopping ? (inputs.earlyStopping.monitor ?? (va ? 'val_loss' : 'loss')) : undefined;
  const patience = inputs.earlyStopping?.patience ?? 5;
  const minDelta = inputs.earlyStopping?.minDelta ?? 0;
  const rng = xoroshiro128plus(seed);
  const order = Array.from({ length: tr.rows }, (_, i) => i);
  const history: Record<string, number>[] = [];
  let best = Infinity;
  let bestEpoch = 0;
  let bestWeights: import('@tensorflow/tfjs-core').Tensor[] | undefined;
  let tensorsAfterFirst: number | undefined;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = uniformInt(rng, 0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const idx = core.tensor1d(Int32Array.from(order), 'int32');
    const xs = core.gather(xTrain, idx);
    const ys = core.gather(yTrain, idx);
    const h = await model.fit(xs, ys, { epochs: 1, batchSize, shuffle: false, verbose: 0, ...(validationData ? { validationData } : {}), ...(classWeight ? { classWeight } : {}) });
    core.dispose([idx, xs, ys]);
    const row: Record<string, number> = { epoch };
    for (const [k, v] of Object.entries(h.history)) row[k === 'acc' ? 'accuracy' : k === 'val_acc' ? 'val_accuracy' : k] = round6(Number(v[0]));
    history.push(row);
    const tensors = core.memory().numTensors - (bestWeights?.length ?? 0);
    tensorsAfterFirst ??= tensors;
    log(`epoch ${epoch}/${epochs}: ${Object.entries(row).filter(([k]) => k !== 'epoch').map(([k, v]) => `${k} ${v}`).join(', ')} · tensors ${tensors}`);
    if (!(await keepGoing(epoch, row))) break;
    if (monitor) {
      const value = row[monitor]!;
      if (value < best - minDelta) {
        best = value;
        bestEpoch = epoch;
        core.dispose(bestWeights ?? []);
        bestWeights = model.getWeights().map((w) => w.clone());
      } else if (epoch - bestEpoch >= patience) {
        log(`early stopping: ${monitor} has not improved for ${patience} epochs; keeping epoch ${bestEpoch}`);
        break;
      }
    }
  }
  if (bestWeights) {
    model.setWeights(bestWeights);
    core.dispose(bestWeights);
  }
  core.dispose([xTrain, yTrain, ...(validationData ?? [])]);
  model.optimizer.dispose();
  return { model, history, bestEpoch, tensorsAfterFirst };
}

/** Sets a dotted path (`optimizer.learningRate`, `layers.0.units`) in plain data, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at: Record<string, unknown> = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (at[part] === undefined || at[part] === null || typeof at[part] !== 'object') at[part] = /^\d+$/.test(parts[i + 1]!) ? [] : {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
}

/** The settings with a tune result's best parameters applied. */
function withHyperparameters(inputs: TrainInputs, log: (line: string) => void): TrainInputs {
  if (!inputs.hyperparameters) return inputs;
  let best: { params?: Record<string, unknown> };
  try {
    best = JSON.parse(readFileSync(inputs.hyperparameters, 'utf8'));
  } catch (e) {
    throw new ActionError(`cannot read hyperparameters ${inputs.hyperparameters}: ${(e as Error).message}`);
  }
  if (!best.params || typeof best.params !== 'object') throw new ActionError(`${inputs.hyperparameters} has no "params" (expected a file mlpipe/tune wrote)`);
  // Paths like layers.0.units apply to the default layers when none are given.
  const merged = structuredClone({ ...inputs, layers: inputs.layers ?? DEFAULT_LAYERS }) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(best.params)) setPath(merged, path, value);
  log(`hyperparameters from ${inputs.hyperparameters}: ${Object.entries(best.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
  return merged as unknown as TrainInputs;
}

export async function train(given: TrainInputs, backend: BackendName, log: (line: string) => void): Promise<void> {
  const inputs = withHyperparameters(given, log);
  const data = prepareData(inputs);
  const { pre, tr } = data;
  const tf = await loadTf(backend);
  const { model, history, bestEpoch, tensorsAfterFirst } = await fitModel(tf, inputs, data, log);
  await saveModel(tf, model, inputs.out, pre);

  const last = history.at(bestEpoch > 0 ? bestEpoch - 1 : -1)!;
  if (inputs.history) {
    const keys = Object.keys(history[0]!);
    writeOutput(inputs.history, `${keys.join(',')}\n${history.map((r) => keys.map((k) => r[k]).join(',')).join('\n')}\n`);
  }
  if (inputs.metrics) {
    const metrics = { backend, task: pre.task, epochs: history.length, bestEpoch: bestEpoch || history.length, trainRows: tr.rows, ...(tr.dropped ? { droppedRows: tr.dropped } : {}), ...Object.fromEntries(Object.entries(last).filter(([k]) => k !== 'epoch')) };
    writeOutput(inputs.metrics, `${JSON.stringify(metrics, null, 2)}\n`);
  }
  model.dispose();
  log(`trained ${history.length} epochs on ${tr.rows} rows (${backend}); tensors after the first epoch ${tensorsAfterFirst}, now ${tf.core.memory().numTensors}`);
}
