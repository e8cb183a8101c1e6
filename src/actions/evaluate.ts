// mlpipe/evaluate: scores a model mlpipe/train wrote on labelled CSV data,
// applying its saved preprocessing, writes the metrics as JSON, and — with
// thresholds — is a quality gate: a breach fails the stage naming the metric,
// its value and the threshold (the metrics file is written first either way).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendName } from '../ml/backend.js';
import { encode } from '../ml/features.js';
import { classificationMetrics, meets, regressionMetrics } from '../ml/metrics.js';
import { loadModel } from '../ml/model-files.js';
import { readTable } from '../ml/table.js';
import { loadTf } from '../ml/tf.js';
import { ActionError } from './errors.js';

export interface EvaluateInputs {
  readonly model: string;
  readonly data: string;
  readonly metrics: string;
  readonly thresholds?: Record<string, string>;
}

export async function evaluate(inputs: EvaluateInputs, backend: BackendName, log: (line: string) => void): Promise<void> {
  const tf = await loadTf(backend);
  const { model, pre } = await loadModel(tf, inputs.model);
  const encoded = encode(pre, readTable(inputs.data), inputs.data);
  if (encoded.rows === 0) throw new ActionError(`${inputs.data}: no rows to evaluate`);
  const width = encoded.x.length / encoded.rows;
  const output = tf.core.tidy(() => model.predict(tf.core.tensor2d(encoded.x, [encoded.rows, width])) as import('@tensorflow/tfjs-core').Tensor);
  const values = (await output.array()) as number[][];
  output.dispose();
  model.dispose();
  const truth = Array.from(encoded.y);
  const scores: Record<string, unknown> =
    pre.task === 'classification'
      ? { task: pre.task, rows: encoded.rows, ...classificationMetrics(pre.classes!, truth, values) }
      : { task: pre.task, rows: encoded.rows, ...regressionMetrics(truth, values.map((v) => v[0]!)) };
  scores.backend = backend;
  mkdirSync(dirname(inputs.metrics), { recursive: true });
  writeFileSync(inputs.metrics, `${JSON.stringify(scores, null, 2)}\n`);
  const headline = Object.entries(scores).filter(([k, v]) => typeof v === 'number' && k !== 'rows');
  log(`${inputs.data}: ${headline.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const breaches: string[] = [];
  for (const [name, condition] of Object.entries(inputs.thresholds ?? {})) {
    const value = scores[name];
    if (typeof value !== 'number') throw new ActionError(`threshold on ${name}: a ${pre.task} model has no ${name} (it has ${headline.map(([k]) => k).join(', ')})`);
    if (meets(value, condition)) log(`gate passed: ${name} ${value} ${condition.trim()}`);
    else breaches.push(`${name} is ${value}, the threshold is ${condition.trim()}`);
  }
  if (breaches.length > 0) throw new ActionError(`quality gate failed: ${breaches.join('; ')}`);
}
