// Loads TensorFlow.js on the chosen backend (in the action runner and serve).
// Production mode: no debug checks, and no console banner about tfjs-node.
// Loaded once per process and backend: the warm action runner runs many
// stages with the same TensorFlow.js.
import type { BackendName } from './backend.js';

export type TfCore = typeof import('@tensorflow/tfjs-core');
export type TfLayers = typeof import('@tensorflow/tfjs-layers');

export interface Tf {
  readonly core: TfCore;
  readonly layers: TfLayers;
  readonly backend: BackendName;
}

const loaded = new Map<BackendName, Promise<Tf>>();

export function loadTf(backend: BackendName): Promise<Tf> {
  let tf = loaded.get(backend);
  if (!tf) {
    tf = load(backend);
    loaded.set(backend, tf);
    tf.catch(() => loaded.delete(backend));
  }
  return tf.then(async (t) => {
    // Another backend may have been chosen by an earlier job in this process.
    if (t.core.getBackend() !== backend && !(await t.core.setBackend(backend))) throw new Error(`TensorFlow.js could not start its ${backend} backend`);
    return t;
  });
}

/** TensorFlow.js as already loaded in this process (for cleaning up between jobs), if it is. */
export async function loadedTf(): Promise<Tf[]> {
  return Promise.all([...loaded.values()].map((p) => p.catch(() => undefined))).then((all) => all.filter((t): t is Tf => t !== undefined));
}

async function load(backend: BackendName): Promise<Tf> {
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
