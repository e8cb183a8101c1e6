// Path rules for everything a pipeline names: relative to the project root,
// "/"-separated, never escaping the root (by "..", absolute paths or symlinks).
import { posix, sep } from 'node:path';
import { realpathSync, lstatSync } from 'node:fs';
import picomatch from 'picomatch';

export type PathCheck =
  | { readonly ok: true; readonly path: string; readonly isDir: boolean; readonly glob: boolean }
  | { readonly ok: false; readonly message: string; readonly suggestion?: string };

const GLOB_CHARS = /[*?[\]{}()!+@]/;

export function isGlob(path: string): boolean {
  // Most paths have no glob character at all: skip the scanner for them.
  return GLOB_CHARS.test(path) && picomatch.scan(path).isGlob;
}

/** Normalises a path as written in a pipeline, or says what is wrong with it. */
export function checkPath(raw: string, what: string, allowGlob: boolean): PathCheck {
  if (raw.trim() === '') return { ok: false, message: `${what} is empty` };
  if (raw.includes('\\')) {
    return { ok: false, message: `${what} "${raw}" uses "\\"; paths use "/"`, suggestion: `write "${raw.replace(/\\/g, '/')}"` };
  }
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.startsWith('~')) {
    return { ok: false, message: `${what} "${raw}" is absolute; paths are relative to the project root`, suggestion: 'copy the file into the project, or make it a dep by a path inside the root' };
  }
  const isDir = raw.endsWith('/');
  const normal = posix.normalize(raw).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) {
    return { ok: false, message: `${what} "${raw}" is outside the project root` };
  }
  if (normal === '.' || normal === '') return { ok: false, message: `${what} "${raw}" is the project root itself; name a file or directory inside it` };
  if (normal === '.mlpipe' || normal.startsWith('.mlpipe/')) return { ok: false, message: `${what} "${raw}" is inside .mlpipe/, mlpipe's own state` };
  const glob = isGlob(normal);
  if (glob && !allowGlob) return { ok: false, message: `${what} "${raw}" is a glob; only deps may be globs` };
  return { ok: true, path: normal, isDir, glob };
}

/** True when `inner` equals `outer` or lies below it. Both normalised. */
export function isInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

/**
 * Resolves symlinks on the part of a path that exists and says whether it
 * leads outside the root. Caches directory look-ups for large projects.
 */
export class SymlinkGuard {
  private readonly realRoot: string;
  private readonly cache = new Map<string, boolean>();

  constructor(private readonly root: string) {
    this.realRoot = realpathSync(root);
  }

  escapes(path: string): boolean {
    const base = isGlob(path) ? picomatch.scan(path).base : path;
    // Only the directories need checking once; the file itself is cached too.
    if (base === '') return false;
    const parts = base.split('/');
    let prefix = '';
    for (const part of parts) {
      prefix = prefix === '' ? part : `${prefix}/${part}`;
      let verdict = this.cache.get(prefix);
      if (verdict === undefined) {
        verdict = this.check(prefix);
        this.cache.set(prefix, verdict);
      }
      if (verdict) return true;
    }
    return false;
  }

  private check(prefix: string): boolean {
    const abs = `${this.root}${sep}${prefix.split('/').join(sep)}`;
    try {
      if (!lstatSync(abs).isSymbolicLink()) return false;
      const real = realpathSync(abs);
      return !(real === this.realRoot || real.startsWith(this.realRoot + sep));
    } catch {
      return false; // does not exist (yet): nothing to follow
    }
  }
}
