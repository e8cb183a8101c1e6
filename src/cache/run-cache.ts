// The run-cache: every stage key that ever ran successfully maps to the
// outputs it produced (.mlpipe/run-cache/<key>.json), so returning to earlier
// params or data restores outputs without running the command. Entries are
// replaced atomically but not fsynced: one lost to a power failure, or one
// pointing at objects that did not reach the disk, only means running again.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicAsync } from '../util/atomic-write.js';
import { ensureDirAsync } from '../util/dirs.js';
import { canonicalJson } from './canonical.js';
import type { LockEntry } from './lockfile.js';

export class RunCache {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'run-cache');
  }

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key.slice(2)}.json`);
  }

  get(key: string): LockEntry | undefined {
    const f = this.file(key);
    if (!existsSync(f)) return undefined;
    try {
      const entry = JSON.parse(readFileSync(f, 'utf8')) as LockEntry;
      return entry.key === key && typeof entry.outs === 'object' ? entry : undefined;
    } catch {
      return undefined; // unreadable: as if never run
    }
  }

  async put(entry: LockEntry): Promise<void> {
    const f = this.file(entry.key);
    await ensureDirAsync(join(f, '..'));
    await writeFileAtomicAsync(f, canonicalJson(entry), { fsync: false });
  }

  /** Every entry's key, file and age, for pruning. */
  *files(): Generator<{ key: string; path: string; mtimeMs: number }> {
    if (!existsSync(this.dir)) return;
    for (const prefix of readdirSync(this.dir)) {
      for (const name of readdirSync(join(this.dir, prefix))) {
        if (!name.endsWith('.json')) continue;
        const path = join(this.dir, prefix, name);
        try {
          yield { key: `${prefix}${name.slice(0, -5)}`, path, mtimeMs: statSync(path).mtimeMs };
        } catch {
          // removed meanwhile
        }
      }
    }
  }

  /** Every recorded entry, for gc. */
  *entries(): Generator<LockEntry> {
    if (!existsSync(this.dir)) return;
    for (const prefix of readdirSync(this.dir)) {
      for (const name of readdirSync(join(this.dir, prefix))) {
        if (!name.endsWith('.json')) continue;
        const entry = this.get(`${prefix}${name.slice(0, -5)}`);
        if (entry) yield entry;
      }
    }
  }
}
