// Running a trained model on encoded rows: the raw outputs (class
// probabilities or the regression value per row), and a Predictor that takes
// checked input tables to predictions (class labels or numbers) — what
// evaluate, monitor and serve share.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { encode, type Cell, type Encoded, type Preprocess } from './features.js';
import { loadModel } from './model-files.js';
import type { Tf } from './tf.js';

/** Checked input rows in the model's column order. */
export interface InputTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

/** The model's output rows for encoded input. */
export async function modelOutputs(tf: Tf, model: LayersModel, encoded: Encoded): Promise<number[][]> {
  if (encoded.rows === 0) return [];
  const width = encoded.x.length / encoded.rows;
  // One pass over all rows: predict's default batch size (32) would split a
  // large batch into many calls, each paying TensorFlow.js's per-call overhead.
  const output = tf.core.tidy(() => model.predict(tf.core.tensor2d(encoded.x, [encoded.rows, width]), { batchSize: Math.max(32, Math.min(encoded.rows, 8192)) }) as import('@tensorflow/tfjs-core').Tensor);
  const values = (await output.array()) as number[][];
  output.dispose();
  return values;
}

/** The label (classification: the most probable class) or value of each output row. */
function decisions(pre: Preprocess, outputs: readonly (readonly number[])[]): (string | number)[] {
  if (pre.task === 'regression') return outputs.map((o) => o[0]!);
  return outputs.map((o) => {
    let best = 0;
    for (let k = 1; k < o.length; k++) if (o[k]! > o[best]!) best = k;
    return pre.classes![best]!;
  });
}

/**
 * Predictions for checked tables of the model's input columns. Tables that
 * arrive within one turn of the event loop (concurrent requests) are scored in
 * one batch: TensorFlow.js's per-call overhead dominates a small model's
 * work, so one predict of 32 rows costs about what one of a single row does.
 */
export class Predictor {
  private pending: { table: InputTable; resolve: (p: (string | number)[]) => void; reject: (e: unknown) => void }[] = [];

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
  predict(table: InputTable): Promise<(string | number)[]> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ table, resolve, reject }) === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const rows = batch.length === 1 ? batch[0]!.table.rows : batch.flatMap((b) => b.table.rows);
      const all = decisions(this.pre, await modelOutputs(this.tf, this.model, encode(this.pre, { columns: batch[0]!.table.columns, rows }, 'request', false)));
      let at = 0;
      for (const b of batch) {
        b.resolve(all.slice(at, at + b.table.rows.length));
        at += b.table.rows.length;
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
}
