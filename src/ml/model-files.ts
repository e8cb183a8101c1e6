// A trained model on disk: model.json (topology + weights manifest),
// weights.bin and preprocess.json, written and read through custom IO
// handlers — plain files, the same on every backend (tfjs-node's file://
// handler exists only on the native backend).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ActionError } from '../actions/errors.js';
import type { Preprocess } from './features.js';
import type { Tf } from './tf.js';

/** The files of a model directory (a package carries them too). */
export const MODEL_FILES = ['model.json', 'weights.bin', 'preprocess.json'] as const;

export async function saveModel(tf: Tf, model: LayersModel, dir: string, pre: Preprocess): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.core.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const bytes = data === undefined ? new Uint8Array() : Array.isArray(data) ? Buffer.concat(data.map((b) => new Uint8Array(b))) : new Uint8Array(data);
      const modelJson = { format: 'layers-model', generatedBy: `mlpipe (TensorFlow.js ${tf.backend})`, modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] };
      writeFileSync(join(dir, 'model.json'), `${JSON.stringify(modelJson)}\n`);
      writeFileSync(join(dir, 'weights.bin'), bytes);
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  writeFileSync(join(dir, 'preprocess.json'), `${JSON.stringify(pre, null, 2)}\n`);
}

export async function loadModel(tf: Tf, dir: string): Promise<{ model: LayersModel; pre: Preprocess }> {
  let json: { modelTopology: object; weightsManifest: { weights: never[] }[] };
  let weights: Buffer;
  let pre: Preprocess;
  try {
    json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    weights = readFileSync(join(dir, 'weights.bin'));
    pre = JSON.parse(readFileSync(join(dir, 'preprocess.json'), 'utf8')) as Preprocess;
  } catch (e) {
    throw new ActionError(`${dir} is not a model mlpipe/train wrote: ${(e as Error).message}`);
  }
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const model = await tf.layers.loadLayersModel({
    load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((m) => m.weights), weightData }),
  });
  return { model, pre };
}
