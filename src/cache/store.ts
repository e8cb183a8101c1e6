// The content-addressed cache in .mlpipe/cache/objects: one read-only object per
// file content, and one per directory manifest. Objects are written atomically
// (temp file, rename) and fsynced later in batches: whoever records a
// reference to them durably (the lock file) calls `sync()` first. (An fsync
// per object commits the filesystem journal each time, which stalls every
// other file operation of the run; a batch commits it about once.) Every
// object is verified against its hash before use; a corrupt or empty one (a
// power loss before its fsync) is deleted and reported, so the caller falls
// back to running.
import { chmodSync, constants, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hashBytes, hashFile, type ContentHash } from './hash.js';
import { ensureDirAsync } from '../util/dirs.js';
import { manifestBytes, type ManifestEntry, type PathState } from './workspace.js';
import type { RootGuard } from '../util/root-guard.js';

/** A manifest's path of a file inside its directory: relative, "/"-separated, no "." or ".." parts. */
function safeManifestPath(rel: unknown): boolean {
  return typeof rel === 'string' && rel !== '' && !rel.includes('\0') && rel.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function isManifest(data: unknown): data is ManifestEntry[] {
  return (
    Array.isArray(data) &&
    data.every((e) => Array.isArray(e) && e.length === 3 && safeManifestPath(e[0]) && typeof e[1] === 'string' && /^[0-9a-f]{32}$/.test(e[1]) && Number.isInteger(e[2]) && e[2] >= 0)
  );
}

/** How restored files are placed in the workspace. */
export type LinkMode = 'copy' | 'hardlink' | 'symlink';

/** fsync on the thread pool; a failure leaves the object to be verified when used. */
async function fsyncFile(path: string): Promise<void> {
  const { open } = await import('node:fs/promises');
  try {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Unsynced or gone: restore verifies every object's hash before use.
  }
}

let tmpCounter = 0;
function tmpName(dir: string): string {
  return join(dir, `.tmp-${process.pid}-${Date.now()}-${tmpCounter++}`);
}

export class CacheStore {
  readonly objects: string;
  /** Objects found corrupt during this process, for reporting. */
  readonly corrupt: ContentHash[] = [];
  /** Stored objects not fsynced yet, and the batch being fsynced. */
  private unsynced: string[] = [];
  private syncing: Promise<void> = Promise.resolve();

  /**
   * `guard`: restores into the workspace are refused (OutsideRootError) when
   * the destination's directory leads outside the project.
   */
  constructor(
    stateDir: string,
    readonly link: LinkMode = 'copy',
    private readonly guard?: RootGuard,
  ) {
    this.objects = join(stateDir, 'cache', 'objects');
  }

  path(hash: ContentHash): string {
    return join(this.objects, hash.slice(0, 2), hash.slice(2));
  }

  has(hash: ContentHash): boolean {
    return existsSync(this.path(hash));
  }

  /**
   * Stores a workspace path (file or directory) that `state` describes: each
   * object copied (reflinked where possible) to a temp file, made read-only and
   * renamed into place, on the thread pool so that other stages keep being
   * scheduled meanwhile. Its fsync comes later, in a batch (see sync()).
   */
  async putState(abs: string, state: PathState): Promise<void> {
    const { copyFile, chmod, rename, rm, writeFile } = await import('node:fs/promises');
    const put = async (src: string | undefined, bytes: Uint8Array | undefined, hash: ContentHash) => {
      const dest = this.path(hash);
      if (existsSync(dest)) return;
      await ensureDirAsync(dirname(dest));
      const tmp = tmpName(dirname(dest));
      try {
        if (src !== undefined) await copyFile(src, tmp, constants.COPYFILE_FICLONE);
        else await writeFile(tmp, bytes!);
        await chmod(tmp, 0o444);
        await rename(tmp, dest);
      } finally {
        await rm(tmp, { force: true });
      }
      this.unsynced.push(dest);
    };
    if (state.kind === 'file') await put(abs, undefined, state.hash);
    else if (state.kind === 'dir') {
      for (const [rel, hash] of state.manifest) await put(join(abs, ...rel.split('/')), undefined, hash);
      await put(undefined, manifestBytes(state.manifest), state.hash);
    }
  }

  /** Resolves when every object stored so far is on disk. */
  sync(): Promise<void> {
    const batch = this.unsynced;
    this.unsynced = [];
    const previous = this.syncing;
    this.syncing = Promise.all([previous, ...batch.map(fsyncFile)]).then(() => undefined);
    return this.syncing;
  }

  /** True when the object exists and its bytes still hash to its name; a corrupt object is removed. */
  verify(hash: ContentHash): boolean {
    const p = this.path(hash);
    if (!existsSync(p)) return false;
    if (hashFile(p).hash === hash) return true;
    rmSync(p, { force: true });
    this.corrupt.push(hash);
    return false;
  }

  readManifest(hash: ContentHash): ManifestEntry[] | undefined {
    if (!this.has(hash)) return undefined;
    const bytes = readFileSync(this.path(hash));
    if (hashBytes(bytes) !== hash) {
      rmSync(this.path(hash), { force: true });
      this.corrupt.push(hash);
      return undefined;
    }
    return this.parseManifest(bytes);
  }

  /**
   * A manifest's entries. Content-addressed, but not trusted: its paths are
   * checked before any is used (a crafted manifest must not place a file
   * outside the directory it restores).
   */
  private parseManifest(bytes: Buffer): ManifestEntry[] | undefined {
    let data: unknown;
    try {
      data = JSON.parse(bytes.toString('utf8'));
    } catch {
      return undefined;
    }
    return isManifest(data) ? data : undefined;
  }

  /**
   * Whether a recorded output could be restored: every object present, and
   * with `verify` every object's bytes hashed too (status promises only what
   * it checked). Nothing is removed here; a restore removes what it finds corrupt.
   */
  restorable(hash: ContentHash, isDir: boolean, verify = false): { readonly state: 'yes' | 'missing' | 'corrupt'; readonly bad?: ContentHash } {
    const check = (h: ContentHash) => (!this.has(h) ? 'missing' : verify && hashFile(this.path(h)).hash !== h ? 'corrupt' : 'yes');
    const own = check(hash);
    if (own !== 'yes') return { state: own, bad: hash };
    if (!isDir) return { state: 'yes' };
    // Planning (verify) leaves a corrupt manifest in place; a run discards it (readManifest) and reports it.
    let manifest: ManifestEntry[] | undefined;
    try {
      manifest = verify ? this.parseManifest(readFileSync(this.path(hash))) : this.readManifest(hash);
    } catch {
      return { state: 'missing', bad: hash };
    }
    if (!manifest) return { state: 'corrupt', bad: hash };
    for (const [, h] of manifest) {
      const state = check(h);
      if (state !== 'yes') return { state, bad: h };
    }
    return { state: 'yes' };
  }

  canRestore(hash: ContentHash, isDir: boolean, verify = false): boolean {
    return this.restorable(hash, isDir, verify).state === 'yes';
  }

  private placeFile(hash: ContentHash, dest: string): void {
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = tmpName(dirname(dest));
    try {
      switch (this.link) {
        case 'copy':
          copyFileSync(this.path(hash), tmp, constants.COPYFILE_FICLONE);
          chmodSync(tmp, 0o644);
          break;
        case 'hardlink':
          linkSync(this.path(hash), tmp);
          break;
        case 'symlink':
          symlinkSync(this.path(hash), tmp);
          break;
      }
      renameSync(tmp, dest);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /**
   * Restores a file or directory output to `dest`, verifying every object first.
   * Returns false (and changes nothing) when an object is missing or corrupt;
   * throws OutsideRootError when `dest`'s directory leads outside the project.
   */
  restore(hash: ContentHash, isDir: boolean, dest: string): boolean {
    this.guard?.checkParent(dest);
    if (!isDir) {
      if (!this.verify(hash)) return false;
      rmSync(dest, { recursive: true, force: true });
      this.placeFile(hash, dest);
      return true;
    }
    const manifest = this.readManifest(hash);
    if (!manifest || !manifest.every(([, h]) => this.verify(h))) return false;
    // Build the directory beside its destination, then swap it in.
    const staging = tmpName(dirname(dest));
    try {
      mkdirSync(staging, { recursive: true });
      for (const [rel, h] of manifest) this.placeFile(h, join(staging, ...rel.split('/')));
      rmSync(dest, { recursive: true, force: true });
      renameSync(staging, dest);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    return true;
  }

  /** A temp file name inside the object store, for a download that adopt() then verifies. */
  async tempFile(): Promise<string> {
    await ensureDirAsync(this.objects);
    return tmpName(this.objects);
  }

  /**
   * Takes a downloaded file in as object `hash` if its bytes hash to that name
   * (`computed`: the hash taken while it was written);
   * otherwise deletes it and returns false (a poisoned or corrupted remote
   * object never enters the cache).
   */
  async adopt(tmp: string, hash: ContentHash, computed?: ContentHash): Promise<boolean> {
    const { chmod, rename, rm } = await import('node:fs/promises');
    try {
      if ((computed ?? hashFile(tmp).hash) !== hash) return false;
      const dest = this.path(hash);
      await ensureDirAsync(dirname(dest));
      await chmod(tmp, 0o444);
      await rename(tmp, dest);
      this.unsynced.push(dest);
      return true;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** The entries of a manifest's bytes, or undefined when they are not a well-formed manifest. */
  manifestOf(bytes: Buffer): ManifestEntry[] | undefined {
    return this.parseManifest(bytes);
  }

  /** Every object in the cache with its size, for gc. */
  *list(): Generator<{ hash: ContentHash; size: number; path: string }> {
    if (!existsSync(this.objects)) return;
    for (const prefix of readdirSync(this.objects)) {
      const dir = join(this.objects, prefix);
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.tmp-')) continue;
        const p = join(dir, name);
        yield { hash: `${prefix}${name}` as ContentHash, size: statSync(p).size, path: p };
      }
    }
  }
}
