// Keeps cached outputs out of git, as DVC does: each one is added to the
// project's .gitignore the first time it is produced. Outputs with
// "cache: false" (small metric files) are left for git.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

export function ignoreOutputs(root: string, paths: readonly { path: string; isDir: boolean }[]): void {
  if (paths.length === 0) return;
  const file = join(root, '.gitignore');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const add = paths.map((p) => `/${p.path}${p.isDir ? '/' : ''}`).filter((l) => !lines.has(l) && !lines.has(l.replace(/\/$/, '')));
  if (add.length === 0) return;
  const sep = current === '' || current.endsWith('\n') ? '' : '\n';
  writeFileAtomic(file, `${current}${sep}${add.map((l) => `${l}\n`).join('')}`);
}
