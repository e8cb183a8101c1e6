// The parse cache: the plain data of YAML files (pipelines, params, lock
// files) keyed by the file's stat, in .mlpipe/index/yaml.json. Parsing YAML
// with source positions costs ~3 ms per KB; a file whose size, mtime, inode and
// ctime are unchanged is not parsed again, and its document (for diagnostics)
// is only built if a diagnostic needs it.
import { readFileSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { mkdirSync } from 'node:fs';

interface Entry {
  readonly stat: string;
  readonly data: unknown;
}

const VERSION = 1;
/** Files modified this recently may change again within one timestamp tick. */
const RACY_MS = 100;

function statKey(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ino}:${st.ctimeNs}`;
}

/** Only plain JSON data can be cached without changing its meaning. */
function jsonSafe(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(jsonSafe);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every(jsonSafe);
  return false;
}

export class ParseCache {
  private entries: Record<string, Entry> = {};
  private dirty = false;

  private constructor(private readonly file: string | undefined) {}

  /** A cache that remembers nothing (for callers without a project state dir). */
  static none(): ParseCache {
    return new ParseCache(undefined);
  }

  static load(stateDir: string): ParseCache {
    const cache = new ParseCache(join(stateDir, 'index', 'yaml.json'));
    try {
      const doc = JSON.parse(readFileSync(cache.file!, 'utf8')) as { version: number; entries: Record<string, Entry> };
      if (doc.version === VERSION && typeof doc.entries === 'object') cache.entries = doc.entries;
    } catch {
      // missing or torn: start empty
    }
    return cache;
  }

  get(absPath: string, st: BigIntStats): { data: unknown } | undefined {
    const e = this.entries[absPath];
    return e && e.stat === statKey(st) ? { data: e.data } : undefined;
  }

  /** Remembers data parsed from a file; `trusted` when mlpipe itself just wrote these bytes. */
  set(absPath: string, data: unknown, trusted = false): void {
    if (!this.file || !jsonSafe(data)) return;
    let st: BigIntStats;
    try {
      st = statSync(absPath, { bigint: true });
    } catch {
      return;
    }
    if (!trusted && Date.now() - Number(st.mtimeMs) < RACY_MS) return;
    const stat = statKey(st);
    if (this.entries[absPath]?.stat === stat) return;
    this.entries[absPath] = { stat, data };
    this.dirty = true;
  }

  flush(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(join(this.file, '..'), { recursive: true });
    writeFileAtomic(this.file, JSON.stringify({ version: VERSION, entries: this.entries }));
    this.dirty = false;
  }
}
