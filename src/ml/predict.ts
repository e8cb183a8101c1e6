// Running a trained model on encoded rows: the raw outputs (class
// probabilities or the regression value per row), and a Predictor that takes
// checked input tables to predictions (class labels or numbers) — what
// evaluate, monitor and serve share.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { encode, type Encoded, type Preprocess } from './features.js';
import { loadModel } from './model-files.js';
import type { Table } from './table.js';
import type { Tf } from './tf.js';

/** The model's output rows for encoded input. */
export async function modelOutputs(tf: Tf, model: LayersModel, encoded: Encoded): Promise<number[][]> {
  if (encoded.rows === 0) return [];
  const width = encoded.x.length / encoded.rows;
  const output = tf.core.tidy(() => model.predict(tf.core.tensor2d(encoded.x, [encoded.rows, width])) as import('@tensorflow/tfjs-core').Tensor);
  const values = (await output.array()) as number[][];
  output.dispose();
  return values;
}

/** The label (classification: the most probable class) or value of each output row. */
export function decisions(pre: Preprocess, outputs: readonly (readonly number[])[]): (string | number)[] {
  if (pre.task === 'regression') return outputs.map((o) => o[0]!);
  return outputs.map((o) => {
    let best = 0;
    for (let k = 1; k < o.length; k++) if (o[k]! > o[best]!) best = k;
    return pre.classes![best]!;
  });
}

export class Predictor {
  private constructor(
    private readonly tf: Tf,
    private readonly model: LayersModel,
    readonly pre: Preprocess,
  ) {}

  static async load(tf: Tf, dir: string): Promise<Predictor> {
    const { model, pre } = await loadModel(tf, dir);
    return new Predictor(tf, model, pre);
  }

  /** Predictions for a table of the model's input columns (already checked against its signature). */
  async predict(table: Table): Promise<(string | number)[]> {
    return decisions(this.pre, await modelOutputs(this.tf, this.model, encode(this.pre, table, 'request', false)));
  }
}
