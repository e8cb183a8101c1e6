// Moving cache objects and action records between the local cache and a
// remote: what push, fetch, pull, status --remote and run --pull/--push do.
// Blobs go up before the records that name them; downloads are verified
// against their hash before they enter the cache (a mismatch is reported and
// counts as missing). Transfers run in parallel, stream (memory is bounded
// whatever the file size), and only what is missing moves, so an interrupted
// transfer resumes where it stopped. Which blobs the remote is known to hold
// is remembered in .mlpipe/remotes/<name>.known, so a push with nothing new
// asks the remote nothing.
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createXXHash128 } from 'hash-wasm';
import validateLock from '../generated/lock-validate.js';
import { canonicalJson } from '../cache/canonical.js';
import { initHashing, type ContentHash } from '../cache/hash.js';
import type { LockEntry, LockOut } from '../cache/lockfile.js';
import type { CacheStore } from '../cache/store.js';
import { RemoteError, type RemoteStore } from './store.js';

/** Blobs at least this large are hashed while they download. */
const STREAM_HASH_BYTES = 1 << 20;

/** Records bigger than this are not believed (a record names a handful of outputs). */
const MAX_RECORD_BYTES = 1024 * 1024;

export interface TransferCounts {
  files: number;
  bytes: number;
  /** Already where they were going. */
  skipped: number;
  skippedBytes: number;
  /** Not in the local cache (push) or not on the remote (fetch). */
  missing: number;
  /** Downloaded objects whose bytes did not match their name: discarded. */
  corrupt: string[];
  /** Action records written (push) or read (pull). */
  records: number;
  errors: string[];
}

export function emptyCounts(): TransferCounts {
  return { files: 0, bytes: 0, skipped: 0, skippedBytes: 0, missing: 0, corrupt: [], records: 0, errors: [] };
}

export type Progress = (done: number, total: number, bytes: number) => void;

/** Runs `work` over items, `jobs` at a time. */
export async function pool<T>(items: readonly T[], jobs: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}

export interface Blob {
  readonly hash: ContentHash;
  readonly size: number;
}

/** The blobs an output consists of: a file's object, or a directory's manifest and every object it lists (from the local cache). */
export function blobsOf(store: CacheStore, out: LockOut): { blobs: Blob[]; complete: boolean } {
  if (out.files === undefined) return { blobs: [{ hash: out.hash as ContentHash, size: out.size }], complete: true };
  const manifest = store.readManifest(out.hash as ContentHash);
  if (!manifest) return { blobs: [], complete: false };
  const manifestSize = store.has(out.hash as ContentHash) ? statSync(store.path(out.hash as ContentHash)).size : 0;
  return { blobs: [{ hash: out.hash as ContentHash, size: manifestSize }, ...manifest.map(([, h, size]) => ({ hash: h, size }))], complete: true };
}

/** A record read from a remote, checked like a lock entry (paths, hashes) and against the key it was asked for. */
export function parseRecord(bytes: Buffer, key: string): LockEntry | undefined {
  if (bytes.length > MAX_RECORD_BYTES) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!validateLock({ schema: 1, stages: { record: data } })) return undefined;
  const entry = data as LockEntry;
  return entry.key === key ? entry : undefined;
}

async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A remote as the local cache sees it: what it holds, and moving blobs and records. */
export class RemoteCache {
  private known: Set<string> | undefined;
  /** Blobs downloaded since the known-set was last written (written in one append). */
  private seen: string[] = [];
  private readonly knownFile: string;

  constructor(
    readonly remote: RemoteStore,
    readonly local: CacheStore,
    stateDir: string,
  ) {
    this.knownFile = join(stateDir, 'remotes', `${remote.name}.known`);
  }

  /** Blobs the remote is known to hold (pushed or seen from here before). */
  private knownSet(): Set<string> {
    if (!this.known) {
      this.known = new Set();
      if (existsSync(this.knownFile)) for (const h of readFileSync(this.knownFile, 'utf8').split('\n')) if (/^[0-9a-f]{32}$/.test(h)) this.known.add(h);
    }
    return this.known;
  }

  private async remember(hashes: readonly string[]): Promise<void> {
    const fresh = hashes.filter((h) => !this.knownSet().has(h));
    if (fresh.length === 0) return;
    for (const h of fresh) this.knownSet().add(h);
    mkdirSync(join(this.knownFile, '..'), { recursive: true });
    await appendFile(this.knownFile, `${fresh.join('\n')}\n`);
  }

  /** Forgets what the remote was known to hold (after gc --remote). */
  forgetKnown(): void {
    this.known = new Set();
    mkdirSync(join(this.knownFile, '..'), { recursive: true });
    writeFileSync(this.knownFile, '');
  }

  /** Which of these blobs the remote lacks: the known ones are skipped; a listing or HEAD requests settle the rest. */
  async missingOnRemote(blobs: readonly Blob[], jobs: number): Promise<Blob[]> {
    const unknown = blobs.filter((b) => !this.knownSet().has(b.hash));
    if (unknown.length === 0) return [];
    const present = new Set<string>();
    if (this.remote.list && unknown.length > 64) {
      for await (const h of this.remote.list('cas')) present.add(h);
    } else {
      await pool(unknown, jobs, async (b) => {
        if (await this.remote.has('cas', b.hash)) present.add(b.hash);
      });
    }
    const asked = new Set<string>(unknown.map((b) => b.hash));
    await this.remember([...present].filter((h) => asked.has(h)));
    return unknown.filter((b) => !present.has(b.hash));
  }

  /** Uploads blobs the remote lacks (from the local cache), then the records that name them. */
  async push(blobs: readonly Blob[], records: readonly LockEntry[], jobs: number, progress?: Progress): Promise<TransferCounts> {
    await initHashing();
    const counts = emptyCounts();
    if (this.remote.readOnly) throw new RemoteError(this.remote.name, 'is read-only: nothing is pushed to it');
    const unique = [...new Map(blobs.map((b) => [b.hash, b])).values()];
    const local = unique.filter((b) => this.local.has(b.hash));
    counts.missing = unique.length - local.length;
    const todo = await this.missingOnRemote(local, jobs);
    counts.skipped = local.length - todo.length;
    const moving = new Set(todo);
    counts.skippedBytes = local.filter((b) => !moving.has(b)).reduce((s, b) => s + b.size, 0);
    let done = 0;
    const uploaded: string[] = [];
    await pool(todo, jobs, async (b) => {
      try {
        const path = this.local.path(b.hash);
        await this.remote.put('cas', b.hash, { file: path, size: statSync(path).size }, false);
        counts.files++;
        counts.bytes += b.size;
        uploaded.push(b.hash);
      } catch (e) {
        counts.errors.push((e as Error).message);
      }
      progress?.(++done, todo.length, counts.bytes);
    });
    await this.remember(uploaded);
    if (counts.errors.length > 0) return counts; // no record may name a blob that did not arrive
    // Records last, and only those whose blobs the remote now holds.
    const held = this.knownSet();
    for (const entry of records) {
      const names = Object.values(entry.outs).flatMap((o) => blobsOf(this.local, o).blobs.map((b) => b.hash));
      if (names.length === 0 || !names.every((h) => held.has(h))) continue;
      try {
        if ((await this.remote.put('ac', entry.key, { bytes: Buffer.from(canonicalJson(entry)) }, true)) === 'written') counts.records++;
      } catch (e) {
        counts.errors.push((e as Error).message);
        break;
      }
    }
    return counts;
  }

  /** Downloads one blob into the local cache; false when the remote lacks it or its bytes do not match. */
  async fetchBlob(hash: ContentHash, counts: TransferCounts, expectedSize?: number): Promise<boolean> {
    await initHashing();
    if (this.local.has(hash)) return true;
    if (this.remote.download) {
      // A directory remote: a kernel copy, then the hash check.
      const tmp = await this.local.tempFile();
      if (!(await this.remote.download('cas', hash, tmp))) {
        counts.missing++;
        return false;
      }
      return this.take(tmp, hash, statSync(tmp).size, counts);
    }
    const stream = await this.remote.get('cas', hash);
    if (!stream) {
      counts.missing++;
      return false;
    }
    const tmp = await this.local.tempFile();
    // A large blob is hashed as it arrives (not read a second time); a small one after it is written.
    const hasher = expectedSize !== undefined && expectedSize >= STREAM_HASH_BYTES ? await createXXHash128() : undefined;
    hasher?.init();
    let size = 0;
    try {
      await pipeline(
        stream,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hasher?.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp, { highWaterMark: 1 << 20 }),
      );
    } catch (e) {
      const { rm } = await import('node:fs/promises');
      await rm(tmp, { force: true });
      throw new RemoteError(this.remote.name, `download of ${hash} broke off: ${(e as Error).message}`, true);
    }
    return this.take(tmp, hash, size, counts, hasher ? (hasher.digest('hex') as ContentHash) : undefined);
  }

  /** A downloaded temp file into the cache if its bytes hash to `hash`; counted either way. */
  private async take(tmp: string, hash: ContentHash, size: number, counts: TransferCounts, computed?: ContentHash): Promise<boolean> {
    if (!(await this.local.adopt(tmp, hash, computed))) {
      counts.corrupt.push(hash);
      return false;
    }
    counts.files++;
    counts.bytes += size;
    this.seen.push(hash);
    return true;
  }

  /** Downloads what the local cache lacks of these outputs (a directory's manifest first, then its files). */
  async fetch(outs: readonly LockOut[], jobs: number, progress?: Progress): Promise<TransferCounts> {
    await initHashing();
    const counts = emptyCounts();
    const before = new Set<string>();
    for (const o of outs) if (this.local.has(o.hash as ContentHash)) before.add(o.hash);
    // Manifests first: they say which objects a directory needs.
    const dirs = outs.filter((o) => o.files !== undefined);
    await pool(dirs, jobs, async (o) => {
      try {
        await this.fetchBlob(o.hash as ContentHash, counts);
      } catch (e) {
        counts.errors.push((e as Error).message);
      }
    });
    const blobs = new Map<string, Blob>();
    for (const o of outs) for (const b of blobsOf(this.local, o).blobs) blobs.set(b.hash, b);
    const todo = [...blobs.values()].filter((b) => !this.local.has(b.hash));
    // Already here: what was local before this fetch (manifests fetched just now count as moved).
    const moving = new Set(todo);
    const fetchedManifests = new Set(dirs.map((d) => d.hash).filter((h) => !before.has(h)));
    const here = [...blobs.values()].filter((b) => !moving.has(b) && !fetchedManifests.has(b.hash));
    counts.skipped = here.length;
    counts.skippedBytes = here.reduce((s, b) => s + b.size, 0);
    let done = 0;
    await pool(todo, jobs, async (b) => {
      try {
        await this.fetchBlob(b.hash, counts, b.size);
      } catch (e) {
        counts.errors.push((e as Error).message);
      }
      progress?.(++done, todo.length, counts.bytes);
    });
    await this.local.sync();
    await this.remember(this.seen.splice(0));
    return counts;
  }

  /** The record of a stage key on the remote, checked; undefined when absent or not believable. */
  async record(key: string): Promise<LockEntry | undefined> {
    const stream = await this.remote.get('ac', key);
    if (!stream) return undefined;
    const bytes = await readAll(stream, MAX_RECORD_BYTES);
    return bytes ? parseRecord(bytes, key) : undefined;
  }
}
