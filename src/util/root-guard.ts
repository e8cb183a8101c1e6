// The last line of defence for every delete, write and rename mlpipe does in
// the workspace: the real path of the target's parent directory is resolved at
// the moment of the operation (symbolic links a stage made during the run
// included) and the operation is refused when it would land outside the
// project root. Validation checks paths as written; this checks them as they
// are on disk now.
import { realpathSync, statSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';

export class OutsideRootError extends Error {}

export class RootGuard {
  private readonly realRoot: string;

  constructor(readonly root: string) {
    this.realRoot = realpathSync.native(root);
  }

  private inside(real: string): boolean {
    return real === this.realRoot || real.startsWith(this.realRoot + sep);
  }

  /** The real path of the deepest existing directory at or above `abs`. */
  private realExisting(abs: string): string {
    let dir = abs;
    for (;;) {
      try {
        return realpathSync.native(dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const up = dirname(dir);
        // ENOENT: not there yet (mkdir will make it under what exists); ENOTDIR: a file in the way.
        if ((code !== 'ENOENT' && code !== 'ENOTDIR') || up === dir) throw e;
        dir = up;
      }
    }
  }

  /**
   * Throws OutsideRootError unless the directory that holds `abs` (as far as
   * it exists) resolves inside the root: deleting, replacing or creating
   * `abs` then stays inside. `abs` itself may be a link; it is replaced, not followed.
   */
  checkParent(abs: string): void {
    const real = this.realExisting(dirname(abs));
    if (!this.inside(real)) throw new OutsideRootError(`${this.shown(abs)}: its directory leads outside the project (to ${real}) through a symbolic link; refused`);
  }

  /** True when `abs` itself (following links, as far as it exists) resolves outside the root. */
  escapes(abs: string): boolean {
    return !this.inside(this.realExisting(abs));
  }

  /** True when `abs` (a symbolic link, say) leads to a regular file inside the root. */
  fileInside(abs: string): boolean {
    try {
      const real = realpathSync.native(abs);
      return real !== this.realRoot && this.inside(real) && statSync(real).isFile();
    } catch {
      return false; // dangling
    }
  }

  /** Throws unless `abs` itself (following links) resolves inside the root, e.g. before reading a stage's output into the cache. */
  checkTarget(abs: string): void {
    const real = this.realExisting(abs);
    if (!this.inside(real)) throw new OutsideRootError(`${this.shown(abs)} leads outside the project (to ${real}) through a symbolic link; refused`);
  }

  private shown(abs: string): string {
    return relative(this.root, abs).split(sep).join('/');
  }
}
