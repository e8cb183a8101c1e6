// A remote cache in a directory (a shared mount: NFS, SMB, a synced folder).
// Objects are written to a temp file beside their place and then moved there,
// so a reader never sees half an object: blobs by rename (the same name means
// the same bytes), records by link(), which fails if the name exists, so
// "first writer wins" is atomic even between machines.
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { RemoteOptions } from '../config/config.js';
import { RemoteError, validKey, type Area, type RemoteStore } from './store.js';

export class DirectoryStore implements RemoteStore {
  readonly readOnly: boolean;
  readonly jobs: number;
  readonly where: string;
  private readonly made = new Set<Area>();

  constructor(
    readonly name: string,
    private readonly root: string,
    options: RemoteOptions,
  ) {
    this.readOnly = options.read_only === true;
    this.jobs = options.jobs ?? 8;
    this.where = root;
  }

  private path(area: Area, key: string): string {
    return join(this.root, area, key);
  }

  async has(area: Area, key: string): Promise<boolean> {
    try {
      return (await stat(this.path(area, key))).isFile();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new RemoteError(this.name, (e as Error).message, true);
    }
  }

  async get(area: Area, key: string): Promise<Readable | undefined> {
    if (!(await this.has(area, key))) return undefined;
    return createReadStream(this.path(area, key));
  }

  async put(area: Area, key: string, body: { file: string; size: number } | { bytes: Uint8Array }, ifAbsent: boolean): Promise<'written' | 'exists'> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    const dir = join(this.root, area);
    const dest = this.path(area, key);
    if (ifAbsent && (await this.has(area, key))) return 'exists';
    if (!this.made.has(area)) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (e) {
        throw new RemoteError(this.name, `cannot create ${dir}: ${(e as Error).message}`, true);
      }
      this.made.add(area);
    }
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      if ('file' in body) await copyFile(body.file, tmp);
      else await writeFile(tmp, body.bytes);
      if (!ifAbsent) {
        // A blob is named by its content: replacing it with the same bytes changes nothing, and rename is atomic.
        await rename(tmp, dest);
        return 'written';
      }
      try {
        await link(tmp, dest); // fails if the name exists: the first writer of a record wins
        return 'written';
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
        throw e;
      }
    } catch (e) {
      if (e instanceof RemoteError) throw e;
      throw new RemoteError(this.name, `cannot write ${area}/${key}: ${(e as Error).message}`, true);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async download(area: Area, key: string, dest: string): Promise<boolean> {
    try {
      await copyFile(this.path(area, key), dest);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new RemoteError(this.name, `cannot read ${area}/${key}: ${(e as Error).message}`, true);
    }
  }

  async *list(area: Area): AsyncIterable<string> {
    let names: string[];
    try {
      names = await readdir(join(this.root, area));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new RemoteError(this.name, (e as Error).message, true);
    }
    for (const n of names) if (validKey(area, n)) yield n;
  }

  async delete(area: Area, key: string): Promise<void> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    await unlink(this.path(area, key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new RemoteError(this.name, e.message, true);
    });
  }
}
