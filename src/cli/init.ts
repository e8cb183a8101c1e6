// `mlpipe init`: creates .mlpipe/ (local state) and pipelines/, and keeps
// .mlpipe/ out of git.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PIPELINES_DIR, STATE_DIR } from '../pipeline/project.js';
import { addToGitignore } from '../cache/gitignore.js';
import { EXIT, type CliContext } from './context.js';

const IGNORE_ENTRY = `/${STATE_DIR}/`;

export function runInit(ctx: CliContext): number {
  const root = ctx.cwd;
  const done: string[] = [];
  for (const dir of [STATE_DIR, PIPELINES_DIR]) {
    if (!existsSync(join(root, dir))) {
      mkdirSync(join(root, dir), { recursive: true });
      done.push(`created ${dir}/`);
    }
  }
  if (addToGitignore(root, [IGNORE_ENTRY], 'mlpipe local state: cache, stat index, run records, logs').length > 0) {
    done.push(`added ${IGNORE_ENTRY} to .gitignore`);
  }
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, root, changes: done }));
  else ctx.out(done.length > 0 ? `Initialized mlpipe project in ${root}: ${done.join(', ')}` : `mlpipe project in ${root} is already initialized`);
  return EXIT.ok;
}
