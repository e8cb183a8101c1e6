// ONNX models for `mlpipe serve`, run by onnxruntime-node (an optional
// dependency, loaded only here). The model's signature comes from the model
// itself: a model with one input per column (the way skl2onnx exports a
// pipeline whose preprocessing is inside the model) takes those columns by name
// and type; a model with one [N, F] tensor input names its F columns in its
// metadata (metadata_props "mlpipe.columns", read with onnx-proto) — without
// them serve refuses to start and says how to add them. The output is the one
// named "label" (else the first): class indexes (named by "mlpipe.classes"),
// class names, per-class scores (the highest wins) or one number (regression).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError } from '../actions/errors.js';
import type { InputTable } from './predict.js';
import type { Signature, SignatureColumn } from './signature.js';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

interface TensorMeta {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

export interface OnnxModel {
  readonly signature: Signature;
  readonly info: Record<string, unknown>;
  predict(table: InputTable): Promise<(string | number)[]>;
}

/** The model file: the path itself, or model.onnx inside a directory. */
export function onnxFile(path: string): string {
  return statSync(path).isDirectory() ? join(path, 'model.onnx') : path;
}

async function loadRuntime(): Promise<Ort> {
  try {
    return (await import('onnxruntime-node')) as Ort;
  } catch (e) {
    throw new ActionError(`serving ONNX models needs onnxruntime-node, which is not installed (${(e as Error).message.split('\n')[0]}): npm install onnxruntime-node`);
  }
}

/** metadata_props of the model (onnx-proto decodes the ModelProto). */
async function metadataOf(bytes: Uint8Array): Promise<Record<string, string>> {
  const mod = (await import('onnx-proto')) as typeof import('onnx-proto') & { default?: typeof import('onnx-proto') };
  const onnx = mod.onnx ?? mod.default!.onnx;
  const model = onnx.ModelProto.decode(bytes);
  return Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}

const list = (text: string | undefined) => (text === undefined || text.trim() === '' ? undefined : text.split(',').map((s) => s.trim()));
const dims = (m: TensorMeta) => m.shape.slice(1).reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);

export async function loadOnnxModel(path: string): Promise<OnnxModel> {
  const ort = await loadRuntime();
  const file = onnxFile(path);
  const bytes = readFileSync(file);
  let session: Session;
  let meta: Record<string, string>;
  try {
    meta = await metadataOf(bytes);
    session = await ort.InferenceSession.create(bytes);
  } catch (e) {
    throw new ActionError(`${file} is not an ONNX model onnxruntime can load: ${(e as Error).message.split('\n')[0]}`);
  }
  const inputs = session.inputMetadata as readonly TensorMeta[];
  const outputs = session.outputMetadata as readonly TensorMeta[];
  const named = list(meta['mlpipe.columns']);
  const classes = list(meta['mlpipe.classes']);
  const perColumn = inputs.length > 1 || (inputs.length === 1 && !named && dims(inputs[0]!) === 1);
  let columns: SignatureColumn[];
  if (perColumn) {
    columns = inputs.map((i) => ({ name: i.name, type: i.type === 'string' ? 'string' : 'double' }));
  } else {
    const input = inputs[0]!;
    const width = dims(input);
    if (input.type === 'string') throw new ActionError(`${file} takes one string tensor: mlpipe serve takes a model with one input per column, or one numeric [N, F] tensor`);
    if (!named) {
      throw new ActionError(
        `${file} takes one tensor "${input.name}" of ${Number.isNaN(width) ? 'several' : width} numbers per row but does not name its columns, so requests cannot be checked column by column: when exporting, add metadata_props mlpipe.columns = "col1,col2,…" (onnx.helper.set_model_props), or export one input per column (skl2onnx does for a pipeline with named inputs)`,
      );
    }
    if (!Number.isNaN(width) && named.length !== width) throw new ActionError(`${file}: metadata mlpipe.columns names ${named.length} columns, but the input "${input.name}" takes ${width} per row`);
    columns = named.map((name) => ({ name, type: 'double' as const }));
  }
  const output = outputs.find((o) => o.name === 'label') ?? outputs[0];
  if (!output) throw new ActionError(`${file} has no outputs`);
  const scoresPerRow = dims(output);
  const task: Signature['task'] = output.type === 'string' || output.type === 'int64' || output.type === 'int32' || classes !== undefined || scoresPerRow > 1 ? 'classification' : 'regression';
  const signature: Signature = {
    inputs: columns,
    outputs: [task === 'classification' ? { name: output.name, type: 'string', ...(classes ? { classes } : {}) } : { name: output.name, type: 'double' }],
    task,
    missing: 'error',
  };

  const tensorOf = (m: TensorMeta, values: (string | number)[], width: number): import('onnxruntime-node').Tensor => {
    const shape = m.shape.length === 1 ? [values.length] : [values.length / width, ...m.shape.slice(1).map((d) => (typeof d === 'number' ? d : width))];
    switch (m.type) {
      case 'string':
        return new ort.Tensor('string', values.map(String), shape);
      case 'float64':
        return new ort.Tensor('float64', Float64Array.from(values as number[]), shape);
      case 'int64':
        return new ort.Tensor('int64', BigInt64Array.from((values as number[]).map((v) => BigInt(Math.round(v)))), shape);
      case 'int32':
        return new ort.Tensor('int32', Int32Array.from(values as number[]), shape);
      default:
        return new ort.Tensor('float32', Float32Array.from(values as number[]), shape);
    }
  };
  const label = (i: number) => classes?.[i] ?? String(i);

  return {
    signature,
    info: { flavor: 'onnx', onnx_inputs: inputs.map((i) => i.name), onnx_output: output.name },
    async predict(table: InputTable): Promise<(string | number)[]> {
      const n = table.rows.length;
      const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
      if (perColumn) {
        inputs.forEach((m, j) => {
          feeds[m.name] = tensorOf(m, table.rows.map((r) => r[j]!), 1);
        });
      } else {
        feeds[inputs[0]!.name] = tensorOf(inputs[0]!, table.rows.flatMap((r) => r as (string | number)[]), columns.length);
      }
      const result = (await session.run(feeds, [output.name]))[output.name]!;
      const data = result.data as ArrayLike<number | bigint | string>;
      if (task === 'regression') return Array.from({ length: n }, (_, i) => Number(data[i]));
      if (scoresPerRow > 1 && output.type !== 'string') {
        const k = data.length / n;
        return Array.from({ length: n }, (_, i) => {
          let best = 0;
          for (let c = 1; c < k; c++) if (Number(data[i * k + c]) > Number(data[i * k + best])) best = c;
          return label(best);
        });
      }
      return Array.from({ length: n }, (_, i) => (typeof data[i] === 'string' ? (data[i] as string) : label(Number(data[i]))));
    },
  };
}
