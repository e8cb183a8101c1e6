// mkdir -p, remembered: a run creates the same few directories for hundreds of
// stages, and each recursive mkdir is a walk of syscalls.
import { mkdirSync } from 'node:fs';

const made = new Set<string>();

/** Ancestors of remembered directories, so forgetting a plain file costs nothing. */
const madeParents = new Set<string>();

export function ensureDir(dir: string): void {
  if (made.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  remember(dir);
}

function remember(dir: string): void {
  made.add(dir);
  for (let i = dir.indexOf('/', 1); i !== -1; i = dir.indexOf('/', i + 1)) madeParents.add(dir.slice(0, i));
}

const making = new Map<string, Promise<void>>();

/** The same on the thread pool (for directories of the cache, created while stages run). */
export function ensureDirAsync(dir: string): Promise<void> {
  if (made.has(dir)) return Promise.resolve();
  let p = making.get(dir);
  if (!p) {
    p = import('node:fs/promises')
      .then(({ mkdir }) => mkdir(dir, { recursive: true }))
      .then(() => remember(dir))
      .finally(() => making.delete(dir));
    making.set(dir, p);
  }
  return p;
}

/** After deleting a path that may have been (or contain) a remembered directory. */
export function forgetDirs(prefix: string): void {
  if (!made.has(prefix) && !madeParents.has(prefix)) return;
  for (const d of made) if (d === prefix || d.startsWith(`${prefix}/`)) made.delete(d);
}
