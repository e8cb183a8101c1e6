// The stat index: path → (size, mtime ns, inode, ctime ns, content hash), so a
// file whose stat is unchanged is never read again. Kept as an append-only log
// in .mlpipe/index/stat.jsonl, one checksummed line per flush holding that
// flush's entries: a torn or corrupt line (a crash mid-write) fails its
// checksum and is ignored, never trusted. One line per batch, not per file, so
// loading 10,000 entries is one JSON.parse and one checksum. The log is
// compacted by an atomic rewrite when it grows past twice the live entries.
import { appendFileSync, mkdirSync, readFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { createHash } from 'node:crypto';
import type { ContentHash } from './hash.js';

interface Entry {
  readonly s: string; // size
  readonly m: string; // mtime ns
  readonly i: string; // inode
  readonly c: string; // ctime ns
  readonly h: ContentHash;
}

/** Files changed this recently may change again within one timestamp tick: not persisted (git's "racy" rule). */
const RACY_NS = 100_000_000n;

/** A line checksum from node's built-in crypto, so loading the index needs no WebAssembly. */
function checksum(json: string): string {
  return createHash('sha1').update(json).digest('hex').slice(0, 12);
}

function sameStat(e: Entry, st: BigIntStats): boolean {
  return e.s === String(st.size) && e.m === String(st.mtimeNs) && e.i === String(st.ino) && e.c === String(st.ctimeNs);
}

export class StatIndex {
  private readonly entries = new Map<string, Entry>();
  private pending: [string, Entry][] = [];
  /** Entries written to the log, live or superseded, to know when to compact. */
  private logged = 0;
  private readonly file: string;

  private constructor(private readonly dir: string) {
    this.file = join(dir, 'stat.jsonl');
  }

  static load(stateDir: string): StatIndex {
    const index = new StatIndex(join(stateDir, 'index'));
    let text = '';
    try {
      text = readFileSync(index.file, 'utf8');
    } catch {
      return index;
    }
    for (const line of text.split('\n')) {
      const tab = line.lastIndexOf('\t');
      if (tab === -1) continue;
      const json = line.slice(0, tab);
      if (checksum(json) !== line.slice(tab + 1)) continue;
      try {
        const batch = JSON.parse(json) as [string, string, string, string, string, ContentHash][];
        for (const [p, s, m, i, c, h] of batch) index.entries.set(p, { s, m, i, c, h });
        index.logged += batch.length;
      } catch {
        // unreadable line: ignored like a torn one
      }
    }
    return index;
  }

  /** The recorded hash, if the file's stat is exactly as recorded. */
  lookup(path: string, st: BigIntStats): ContentHash | undefined {
    const e = this.entries.get(path);
    return e && sameStat(e, st) ? e.h : undefined;
  }

  record(path: string, st: BigIntStats, hash: ContentHash): void {
    const entry: Entry = { s: String(st.size), m: String(st.mtimeNs), i: String(st.ino), c: String(st.ctimeNs), h: hash };
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now - st.mtimeNs < RACY_NS) return;
    const previous = this.entries.get(path);
    if (previous && sameStat(previous, st) && previous.h === hash) return;
    this.entries.set(path, entry);
    this.pending.push([path, entry]);
  }

  /** Writes new entries as one line; rewrites the log when most of it is stale. */
  flush(): void {
    if (this.pending.length === 0) return;
    mkdirSync(this.dir, { recursive: true });
    const line = (batch: [string, Entry][]) => {
      const json = JSON.stringify(batch.map(([p, e]) => [p, e.s, e.m, e.i, e.c, e.h]));
      return `${json}\t${checksum(json)}\n`;
    };
    if (this.logged + this.pending.length > 2 * this.entries.size + 1000) {
      writeFileAtomic(this.file, line([...this.entries]));
      this.logged = this.entries.size;
    } else {
      appendFileSync(this.file, line(this.pending));
      this.logged += this.pending.length;
    }
    this.pending = [];
  }
}
