// Atomic file writes: write a temp file beside the target, fsync it, rename it
// over the target and fsync the directory, so a crash leaves the old file or the
// new one, never a torn one.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { processAlive } from './pid.js';

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, 'w', 0o666);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename is still atomic.
  }
}

/**
 * The same, on the thread pool: the main thread goes on scheduling stages
 * meanwhile. `fsync: false` keeps only the atomicity (for data that is safe to
 * lose in a power failure, not to tear).
 */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, options: { fsync?: boolean } = {}): Promise<void> {
  const { open, rename, rm } = await import('node:fs/promises');
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  const fh = await open(tmp, 'w', 0o666);
  try {
    await fh.writeFile(data);
    if (options.fsync !== false) await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Temp files of the writes above and of the cache store: the writer's pid is in the name. */
const TEMP_NAMES = [/^\..+?\.(\d+)\.\d+(?:\.[a-z0-9]+)?\.tmp$/, /^\.tmp-(\d+)-\d+-\d+$/];


/**
 * Removes temp files (and staging directories) in `dir` whose writer is no
 * longer running: what a kill -9 between writing a temp file and renaming it
 * leaves behind. A live writer's files, and anything else, are left alone.
 */
export function removeDeadTemps(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = TEMP_NAMES.map((re) => re.exec(name)?.[1]).find((p) => p !== undefined);
    if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
