// Path rules for everything a pipeline names: relative to the project root,
// "/"-separated, never escaping the root (by "..", absolute paths or symlinks).
import { posix, sep } from 'node:path';
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
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
 * Directory listings, read once each: whether a path exists and whether a
 * component is a symbolic link, for thousands of paths at the cost of one
 * readdir per directory instead of a stat per path.
 */
export class DirListing {
  private readonly listings = new Map<string, Map<string, Dirent> | null>();

  constructor(private readonly root: string) {}

  private list(dir: string): Map<string, Dirent> | null {
    let listing = this.listings.get(dir);
    if (listing === undefined) {
      try {
        const abs = dir === '' ? this.root : `${this.root}${sep}${dir.split('/').join(sep)}`;
        listing = new Map(readdirSync(abs, { withFileTypes: true }).map((d) => [d.name, d]));
      } catch {
        listing = null;
      }
      this.listings.set(dir, listing);
    }
    return listing;
  }

  entry(rel: string): Dirent | undefined {
    const slash = rel.lastIndexOf('/');
    return this.list(slash === -1 ? '' : rel.slice(0, slash))?.get(rel.slice(slash + 1));
  }

  /** True when the path exists (following symbolic links). */
  exists(rel: string): boolean {
    const e = this.entry(rel);
    if (!e) return false;
    if (!e.isSymbolicLink()) return true;
    try {
      statSync(`${this.root}${sep}${rel.split('/').join(sep)}`);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Says whether a path leads outside the root through a symbolic link, on the
 * part of it that exists. Uses directory listings, so a project with
 * thousands of paths costs one readdir per directory.
 */
export class SymlinkGuard {
  private readonly realRoot: string;
  private readonly verdicts = new Map<string, boolean>();

  constructor(
    private readonly root: string,
    readonly listing: DirListing = new DirListing(root),
  ) {
    this.realRoot = realpathSync(root);
  }

  escapes(path: string): boolean {
    const base = isGlob(path) ? picomatch.scan(path).base : path;
    if (base === '') return false;
    let prefix = '';
    for (const part of base.split('/')) {
      prefix = prefix === '' ? part : `${prefix}/${part}`;
      const entry = this.listing.entry(prefix);
      if (!entry) return false; // does not exist (yet): nothing to follow
      if (!entry.isSymbolicLink()) continue;
      let verdict = this.verdicts.get(prefix);
      if (verdict === undefined) {
        verdict = this.leadsOutside(prefix);
        this.verdicts.set(prefix, verdict);
      }
      if (verdict) return true;
    }
    return false;
  }

  private leadsOutside(prefix: string): boolean {
    try {
      const real = realpathSync(`${this.root}${sep}${prefix.split('/').join(sep)}`);
      return !(real === this.realRoot || real.startsWith(this.realRoot + sep));
    } catch {
      return false; // a dangling link: nothing outside is read through it
    }
  }
}
