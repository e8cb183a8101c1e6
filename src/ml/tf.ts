// Loads TensorFlow.js on the chosen backend (in the action runner only).
// Production mode: no debug checks, and no console banner about tfjs-node.
import type { BackendName } from './backend.js';

export type TfCore = typeof import('@tensorflow/tfjs-core');
export type TfLayers = typeof import('@tensorflow/tfjs-layers');

export interface Tf {
  readonly core: TfCore;
  readonly layers: TfLayers;
  readonly backend: BackendName;
}

export async function loadTf(backend: BackendName): Promise<Tf> {
  if (backend === 'tensorflow') {
    // tfjs-node carries the whole API (core and layers) bound to the native backend.
    const node = (await import('@tensorflow/tfjs-node' as string)) as TfCore & TfLayers;
    node.enableProdMode();
    return { core: node, layers: node, backend };
  }
  const core = await import('@tensorflow/tfjs-core');
  core.enableProdMode();
  await import('@tensorflow/tfjs-backend-cpu');
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await core.setBackend(backend))) throw new Error(`TensorFlow.js could not start its ${backend} backend`);
  await core.ready();
  const layers = await import('@tensorflow/tfjs-layers');
  return { core, layers, backend };
}
