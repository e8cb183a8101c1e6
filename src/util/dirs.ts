// mkdir -p, remembered: a run creates the same few directories for hundreds of
// stages, and each recursive mkdir is a walk of syscalls.
import { mkdirSync } from 'node:fs';

const made = new Set<string>();

export function ensureDir(dir: string): void {
  if (made.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  made.add(dir);
}

/** After deleting a directory that may have been remembered. */
export function forgetDirs(prefix: string): void {
  for (const d of made) if (d === prefix || d.startsWith(`${prefix}/`)) made.delete(d);
}
