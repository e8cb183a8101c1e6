// Parsed data of git blobs (pipeline, lock, params and metrics files of other
// revisions), keyed by the blob's object id, in .mlpipe/index/blobs.json. A
// blob never changes, so an entry is valid for ever; the newest entries are
// kept (MAX_ENTRIES), so comparing revisions again parses nothing.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

const VERSION = 1;
export const MAX_ENTRIES = 4000;
/** Larger parsed values are not kept (their JSON would slow every load of the cache). */
const MAX_ENTRY_CHARS = 64 * 1024;

export class BlobCache {
  private entries = new Map<string, unknown>();
  private dirty = false;

  private constructor(private readonly file: string | undefined) {}

  static none(): BlobCache {
    return new BlobCache(undefined);
  }

  static load(stateDir: string): BlobCache {
    const cache = new BlobCache(join(stateDir, 'index', 'blobs.json'));
    try {
      const doc = JSON.parse(readFileSync(cache.file!, 'utf8')) as { version: number; entries: [string, unknown][] };
      if (doc.version === VERSION && Array.isArray(doc.entries)) cache.entries = new Map(doc.entries.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && /^[0-9a-f]{40,64}$/.test(e[0])));
    } catch {
      // missing or torn: start empty
    }
    return cache;
  }

  get(oid: string): { data: unknown } | undefined {
    return this.entries.has(oid) ? { data: this.entries.get(oid) } : undefined;
  }

  set(oid: string, data: unknown): void {
    if (!this.file || this.entries.has(oid)) return;
    const text = JSON.stringify(data);
    if (text === undefined || text.length > MAX_ENTRY_CHARS) return;
    this.entries.set(oid, JSON.parse(text));
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.dirty = true;
  }

  flush(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(join(this.file, '..'), { recursive: true });
    writeFileAtomic(this.file, JSON.stringify({ version: VERSION, entries: [...this.entries] }));
    this.dirty = false;
  }
}
