// Model bytes of registered versions: stored in the project's content-addressed
// cache under the model directory's hash (the hash lock files record for it),
// and fetched back for serving — from the workspace when the directory there
// still has exactly those bytes, else restored from the cache into
// .mlpipe/models/<hash>/ (every object verified first).
import { existsSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { CacheStore } from '../cache/store.js';
import { StatIndex } from '../cache/stat-index.js';
import { Workspace } from '../cache/workspace.js';
import { initHashing, type ContentHash } from '../cache/hash.js';
import { RegistryError, type ModelVersion } from './registry.js';

// The project's state directory (STATE_DIR of pipeline/project.ts, which is not
// imported for one constant: it would bring the whole pipeline loader along).
const stateDir = (root: string) => join(root, '.mlpipe');

/** Where versions restored for serving are placed (one directory per hash; gc empties it). */
export const restoredModelsDir = (root: string) => join(stateDir(root), 'models');

async function dirState(root: string, rel: string) {
  await initHashing();
  const ws = new Workspace(root, StatIndex.load(stateDir(root)));
  return ws.state(rel);
}

/** Stores a model directory or file (root-relative) in the cache, durably; returns its content hash and whether it is one file. */
export async function storeModel(root: string, rel: string): Promise<{ hash: ContentHash; file: boolean }> {
  const state = await dirState(root, rel);
  if (state.kind === 'missing') throw new RegistryError(`${rel} does not exist: register the model file or directory a stage wrote`);
  const store = new CacheStore(stateDir(root));
  await store.putState(join(root, rel), state);
  await store.sync();
  return { hash: state.hash, file: state.kind === 'file' };
}

/** A directory (or, for a one-file model, a file) holding exactly the version's model bytes. */
export async function fetchModelDir(root: string, name: string, v: ModelVersion): Promise<string> {
  const kind = v.file ? 'file' : 'dir';
  const here = await dirState(root, v.source);
  if (here.kind === kind && here.hash === v.hash) return join(root, v.source);
  const store = new CacheStore(stateDir(root));
  const dest = v.file ? join(restoredModelsDir(root), v.hash, basename(v.source)) : join(restoredModelsDir(root), v.hash);
  const restored = existsSync(dest) ? await dirState(root, relative(root, dest).split('\\').join('/')) : undefined;
  if (restored?.kind === kind && restored.hash === v.hash) return dest;
  if (store.restore(v.hash as ContentHash, !v.file, dest)) return dest;
  throw new RegistryError(
    `the files of ${name}:${v.version} (hash ${v.hash.slice(0, 12)}…) are not in this project's cache${store.corrupt.length > 0 ? ' (a cache object was corrupt and was removed)' : ''}`,
    `rebuild them with "mlpipe run" (the same inputs give the same bytes), or fetch the cache from where it was registered`,
  );
}

/** Every cache object a registered version needs (its manifest and files), for gc. */
export function versionObjects(store: CacheStore, hash: ContentHash): ContentHash[] {
  return [hash, ...(store.readManifest(hash) ?? []).map(([, h]) => h)];
}
