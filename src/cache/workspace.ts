// The state of paths in the workspace: a file's content hash, a directory's
// manifest (sorted relative paths with their hashes) and manifest hash, or
// "missing". Every file hash goes through the stat index. Inside a directory,
// a symbolic link counts only when it leads to a file inside the project.
import { readdirSync, statSync, type BigIntStats } from 'node:fs';
import { RootGuard } from '../util/root-guard.js';
import { join, sep } from 'node:path';
import { globSync } from 'tinyglobby';
import { hashBytes, hashFile, type ContentHash } from './hash.js';
import type { StatIndex } from './stat-index.js';
import { canonicalJson } from './canonical.js';

/** One file of a directory: [path relative to the directory, hash, size]. */
export type ManifestEntry = readonly [string, ContentHash, number];

export type PathState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'file'; readonly hash: ContentHash; readonly size: number }
  | {
      readonly kind: 'dir';
      readonly hash: ContentHash;
      readonly size: number;
      readonly manifest: readonly ManifestEntry[];
      /** Assumed from a lock file whose manifest is not in the cache: the file count, and the states of known paths inside. */
      readonly files?: number;
      readonly inner?: ReadonlyMap<string, PathState>;
    };

export function manifestBytes(manifest: readonly ManifestEntry[]): Buffer {
  return Buffer.from(canonicalJson(manifest));
}

export function manifestHash(manifest: readonly ManifestEntry[]): ContentHash {
  return hashBytes(manifestBytes(manifest));
}

const SKIP_DIRS = new Set(['.git', '.mlpipe', 'node_modules']);

export class Workspace {
  private readonly memo = new Map<string, PathState>();
  /** Directories with something below them in memo: only these need a scan on invalidate. */
  private readonly memoParents = new Set<string>();
  private readonly globs = new Map<string, PathState>();
  /** States that paths will have once restored, for planning (status, --dry-run) without writing. */
  private readonly assumed = new Map<string, PathState>();

  constructor(
    readonly root: string,
    private readonly index: StatIndex,
  ) {}

  abs(rel: string): string {
    // Called for every file of every dep directory: plain concatenation where "/" is the separator.
    return sep === '/' ? (rel === '' ? this.root : `${this.root}/${rel}`) : join(this.root, ...rel.split('/'));
  }

  /** Forget what is known about a path, everything above and below it, and every glob (after a stage wrote it). */
  invalidate(rel: string): void {
    this.memo.delete(rel);
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) this.memo.delete(rel.slice(0, i));
    if (this.memoParents.has(rel)) {
      for (const k of this.memo.keys()) if (k.startsWith(`${rel}/`)) this.memo.delete(k);
    }
    this.globs.clear();
  }

  private fileHash(rel: string, st: BigIntStats): { hash: ContentHash; size: number } {
    const known = this.index.lookup(rel, st);
    if (known) return { hash: known, size: Number(st.size) };
    const { hash, size } = hashFile(this.abs(rel));
    this.index.record(rel, st, hash);
    return { hash, size };
  }

  /** Plans as if `rel` already had this state (an output the cache would restore). */
  assume(rel: string, state: PathState): void {
    this.assumed.set(rel, state);
    this.invalidate(rel);
  }

  /** Back to what is on disk (after planning with assumptions). */
  forgetAssumptions(): void {
    for (const rel of this.assumed.keys()) this.invalidate(rel);
    this.assumed.clear();
  }

  private assumedState(rel: string): PathState | undefined {
    const exact = this.assumed.get(rel);
    if (exact) return exact;
    for (const [path, s] of this.assumed) {
      if (s.kind !== 'dir' || !rel.startsWith(`${path}/`)) continue;
      const inner = rel.slice(path.length + 1);
      if (s.inner) return s.inner.get(inner) ?? { kind: 'missing' };
      const file = s.manifest.find(([p]) => p === inner);
      if (file) return { kind: 'file', hash: file[1], size: file[2] };
      const below = s.manifest.filter(([p]) => p.startsWith(`${inner}/`)).map(([p, h, n]) => [p.slice(inner.length + 1), h, n] as ManifestEntry);
      if (below.length === 0) return { kind: 'missing' };
      return { kind: 'dir', hash: manifestHash(below), size: below.reduce((a, e) => a + e[2], 0), manifest: below };
    }
    return undefined;
  }

  state(rel: string): PathState {
    const memo = this.memo.get(rel);
    if (memo) return memo;
    const assumed = this.assumed.size > 0 ? this.assumedState(rel) : undefined;
    if (assumed) return this.remember(rel, assumed);
    let st: BigIntStats;
    try {
      st = statSync(this.abs(rel), { bigint: true });
    } catch {
      return this.remember(rel, { kind: 'missing' });
    }
    if (st.isFile()) return this.remember(rel, { kind: 'file', ...this.fileHash(rel, st) });
    if (!st.isDirectory()) return this.remember(rel, { kind: 'missing' });
    const manifest: ManifestEntry[] = [];
    let size = 0;
    const walk = (dirRel: string, prefix: string) => {
      const entries = readdirSync(this.abs(dirRel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const childRel = `${dirRel}/${e.name}`;
        const inner = prefix === '' ? e.name : `${prefix}/${e.name}`;
        // A link inside a directory is followed only to a file inside the project:
        // never out of it, and never into a directory (no cycles, no walking /).
        if (e.isSymbolicLink() && !(this.guard ??= new RootGuard(this.root)).fileInside(this.abs(childRel))) continue;
        let cst: BigIntStats;
        try {
          cst = statSync(this.abs(childRel), { bigint: true });
        } catch {
          continue; // a dangling symlink: not content
        }
        if (cst.isDirectory()) {
          if (!SKIP_DIRS.has(e.name)) walk(childRel, inner);
        } else if (cst.isFile()) {
          const f = this.fileHash(childRel, cst);
          manifest.push([inner, f.hash, f.size]);
          size += f.size;
        }
      }
    };
    walk(rel, '');
    manifest.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return this.remember(rel, { kind: 'dir', hash: manifestHash(manifest), size, manifest });
  }

  /** Made on the first link met inside a directory. */
  private guard: RootGuard | undefined;

  /**
   * A glob's matches as a manifest (paths relative to the root): regular
   * files only, and symbolic links are not followed (a link to / or to its
   * own directory must not make a glob walk the machine or loop).
   */
  globState(pattern: string): PathState {
    const memo = this.globs.get(pattern);
    if (memo) return memo;
    const matches = globSync(pattern, { cwd: this.root, dot: true, onlyFiles: true, followSymbolicLinks: false, ignore: ['.mlpipe/**', '.git/**'] })
      .map((p) => p.split(sep).join('/'))
      .sort();
    const manifest: ManifestEntry[] = [];
    let size = 0;
    for (const m of matches) {
      const s = this.state(m);
      if (s.kind === 'file') {
        manifest.push([m, s.hash, s.size]);
        size += s.size;
      }
    }
    const s: PathState = matches.length === 0 ? { kind: 'missing' } : { kind: 'dir', hash: manifestHash(manifest), size, manifest };
    this.globs.set(pattern, s);
    return s;
  }

  private remember(rel: string, s: PathState): PathState {
    this.memo.set(rel, s);
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) this.memoParents.add(rel.slice(0, i));
    return s;
  }
}
