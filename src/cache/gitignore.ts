// Keeps cached outputs out of git, as DVC does: each one is added to the
// project's .gitignore the first time it is produced. Outputs with
// "cache: false" (small metric files) are left for git.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

/**
 * Appends root-anchored patterns ("/out/", "/model.bin") to the project's
 * .gitignore unless already there (with or without the slashes), atomically;
 * `comment` goes above them when anything is added. Returns what was added.
 */
export function addToGitignore(root: string, patterns: readonly string[], comment?: string): string[] {
  const file = join(root, '.gitignore');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const bare = (l: string) => l.replace(/^\//, '').replace(/\/$/, '');
  const present = new Set([...lines].map(bare));
  const add = [...new Set(patterns)].filter((l) => !lines.has(l) && !present.has(bare(l)));
  if (add.length === 0) return [];
  const sep = current === '' || current.endsWith('\n') ? '' : '\n';
  writeFileAtomic(file, `${current}${sep}${comment ? `# ${comment}\n` : ''}${add.map((l) => `${l}\n`).join('')}`);
  return add;
}

export function ignoreOutputs(root: string, outputs: readonly { path: string; isDir: boolean }[]): void {
  addToGitignore(root, outputs.map((o) => `/${o.path}${o.isDir ? '/' : ''}`));
}
