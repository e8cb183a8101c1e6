// One mlpipe at a time per project: .mlpipe/lock names the holder (pid,
// command). A second process waits (and says for whom) or, with --no-wait,
// gives up at once; a lock whose holder has died is taken over.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { processAlive } from '../util/pid.js';

export interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly command: string;
  readonly token: string;
}

function readHolder(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

export class ProjectLock {
  private constructor(
    private readonly path: string,
    private readonly token: string,
    /** The state directory, when taking the lock created it. */
    private readonly created: string | undefined,
  ) {}

  /** Tries once: the lock, or who holds it. Takes over a lock left by a dead process. */
  static tryAcquire(stateDir: string, command: string): ProjectLock | Holder {
    const created = existsSync(stateDir) ? undefined : stateDir;
    mkdirSync(stateDir, { recursive: true });
    const path = join(stateDir, 'lock');
    const me: Holder = { pid: process.pid, host: hostname(), command, token: randomUUID() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, JSON.stringify(me));
        } finally {
          closeSync(fd);
        }
        // Read back: if a racing takeover replaced it, it is not ours.
        if (readHolder(path)?.token === me.token) return new ProjectLock(path, me.token, created);
        continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readHolder(path);
      const stale = holder
        ? holder.host === me.host && !processAlive(holder.pid)
        : Date.now() - safeMtime(path) > 5000; // unreadable: a crash while writing it
      if (!stale) return holder ?? { pid: 0, host: me.host, command: 'unknown', token: '' };
      rmSync(path, { force: true });
    }
    return readHolder(path) ?? { pid: 0, host: me.host, command: 'unknown', token: '' };
  }

  /** Waits until the lock is free; `onWait` is called once with the holder. */
  static async acquire(stateDir: string, command: string, onWait: (holder: Holder) => void): Promise<ProjectLock> {
    let told = false;
    for (;;) {
      const r = ProjectLock.tryAcquire(stateDir, command);
      if (r instanceof ProjectLock) return r;
      if (!told) {
        onWait(r);
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * `nothingDone`: the command wrote nothing (its input was invalid), so a
   * state directory that taking the lock created goes too (SPEC §5: an invalid
   * pipeline writes nothing).
   */
  release(nothingDone = false): void {
    if (readHolder(this.path)?.token === this.token) rmSync(this.path, { force: true });
    if (nothingDone && this.created) {
      try {
        rmdirSync(this.created); // only if still empty
      } catch {
        // something else wrote there meanwhile: keep it
      }
    }
  }
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
