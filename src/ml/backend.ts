// Which TensorFlow.js backend ML actions run on: `tensorflow` (the native
// @tensorflow/tfjs-node, when it is installed and its binding built), else
// `wasm` (@tensorflow/tfjs-backend-wasm), else `cpu` (pure JavaScript).
// MLPIPE_TF_BACKEND (or `run --backend`) chooses one explicitly. The name is
// part of ML stages' keys, since results differ by backend. Choosing only
// resolves packages; TensorFlow.js itself is loaded by the action runner.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);

function nativeAvailable(): boolean {
  try {
    const pkg = require.resolve('@tensorflow/tfjs-node/package.json');
    // The binding is built (or downloaded) at install time; without it the package cannot load.
    const lib = join(dirname(pkg), 'lib');
    return existsSync(lib) && readdirSync(lib).some((d) => d.startsWith('napi-v'));
  } catch {
    return false;
  }
}

function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The backend to use, or an error message when the requested one is not installed. */
export function chooseBackend(requested = process.env.MLPIPE_TF_BACKEND): { backend: BackendName } | { error: string } {
  if (requested) {
    if (!BACKENDS.includes(requested as BackendName)) return { error: `unknown TensorFlow.js backend "${requested}"; choose one of ${BACKENDS.join(', ')}` };
    const ok = requested === 'tensorflow' ? nativeAvailable() : requested === 'wasm' ? resolvable('@tensorflow/tfjs-backend-wasm') : true;
    return ok ? { backend: requested as BackendName } : { error: `the ${requested} backend is not installed (npm install ${requested === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-backend-wasm'})` };
  }
  if (nativeAvailable()) return { backend: 'tensorflow' };
  if (resolvable('@tensorflow/tfjs-backend-wasm')) return { backend: 'wasm' };
  return { backend: 'cpu' };
}

let chosen: BackendName | undefined;

/** The backend for this process's ML stages (an unknown or missing requested one falls back to it by name; the runner reports it). */
export function mlBackend(): BackendName {
  if (chosen) return chosen;
  const c = chooseBackend();
  chosen = 'backend' in c ? c.backend : ((process.env.MLPIPE_TF_BACKEND as BackendName) ?? 'cpu');
  return chosen;
}
