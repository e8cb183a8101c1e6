// `mlpipe init`: creates .mlpipe/ (local state) and pipelines/, and keeps
// .mlpipe/ out of git.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PIPELINES_DIR, STATE_DIR } from '../pipeline/project.js';
import { writeFileAtomic } from '../util/atomic-write.js';
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
  const gitignore = join(root, '.gitignore');
  const current = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  const lines = current.split(/\r?\n/).map((l) => l.trim());
  if (!lines.includes(IGNORE_ENTRY) && !lines.includes(`${STATE_DIR}/`) && !lines.includes(STATE_DIR)) {
    const sep = current === '' || current.endsWith('\n') ? '' : '\n';
    writeFileAtomic(gitignore, `${current}${sep}# mlpipe local state: cache, stat index, run records, logs\n${IGNORE_ENTRY}\n`);
    done.push(`added ${IGNORE_ENTRY} to .gitignore`);
  }
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, root, changes: done }));
  else ctx.out(done.length > 0 ? `Initialized mlpipe project in ${root}: ${done.join(', ')}` : `mlpipe project in ${root} is already initialized`);
  return EXIT.ok;
}
