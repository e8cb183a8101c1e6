// The state of paths in the workspace: a file's content hash, a directory's
// manifest (sorted relative paths with their hashes) and manifest hash, or
// "missing". Every file hash goes through the stat index.
import { readdirSync, statSync, type BigIntStats } from 'node:fs';
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
  | { readonly kind: 'dir'; readonly hash: ContentHash; readonly size: number; readonly manifest: readonly ManifestEntry[] };

export function manifestBytes(manifest: readonly ManifestEntry[]): Buffer {
  return Buffer.from(canonicalJson(manifest));
}

export function manifestHash(manifest: readonly ManifestEntry[]): ContentHash {
  return hashBytes(manifestBytes(manifest));
}

const SKIP_DIRS = new Set(['.git', '.mlpipe', 'node_modules']);

export class Workspace {
  private readonly memo = new Map<string, PathState>();

  constructor(
    readonly root: string,
    private readonly index: StatIndex,
  ) {}

  abs(rel: string): string {
    return join(this.root, ...rel.split('/'));
  }

  /** Forget what is known about a path and everything above or below it (after a stage wrote it). */
  invalidate(rel: string): void {
    for (const k of [...this.memo.keys()]) {
      if (k === rel || k.startsWith(`${rel}/`) || rel.startsWith(`${k}/`) || k.startsWith('glob:')) this.memo.delete(k);
    }
  }

  private fileHash(rel: string, st: BigIntStats): { hash: ContentHash; size: number } {
    const known = this.index.lookup(rel, st);
    if (known) return { hash: known, size: Number(st.size) };
    const { hash, size } = hashFile(this.abs(rel));
    this.index.record(rel, st, hash);
    return { hash, size };
  }

  state(rel: string): PathState {
    const memo = this.memo.get(rel);
    if (memo) return memo;
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

  /** A glob's matches as a manifest (paths relative to the root). */
  globState(pattern: string): PathState {
    const key = `glob:${pattern}`;
    const memo = this.memo.get(key);
    if (memo) return memo;
    const matches = globSync(pattern, { cwd: this.root, dot: true, onlyFiles: true, ignore: ['.mlpipe/**', '.git/**'] })
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
    return this.remember(key, matches.length === 0 ? { kind: 'missing' } : { kind: 'dir', hash: manifestHash(manifest), size, manifest });
  }

  private remember(key: string, s: PathState): PathState {
    this.memo.set(key, s);
    return s;
  }
}
