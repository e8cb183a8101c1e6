// `mlpipe init`: creates .mlpipe/ (local state) and pipelines/, and keeps
// .mlpipe/ out of git; `--example` also writes a small runnable project.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXAMPLE_FILES } from './init-example.js';
import { PIPELINES_DIR, STATE_DIR } from '../pipeline/project.js';
import { addToGitignore } from '../cache/gitignore.js';
import { EXIT, type CliContext } from './context.js';

const IGNORE_ENTRY = `/${STATE_DIR}/`;

export function runInit(ctx: CliContext, options: { example?: boolean } = {}): number {
  const root = ctx.cwd;
  const done: string[] = [];
  if (options.example) {
    const existing = Object.keys(EXAMPLE_FILES).filter((f) => existsSync(join(root, f)));
    if (existing.length > 0) return ctx.error(`--example would overwrite ${existing.join(', ')}`, 'run it in an empty directory');
  }
  for (const dir of [STATE_DIR, PIPELINES_DIR]) {
    if (!existsSync(join(root, dir))) {
      mkdirSync(join(root, dir), { recursive: true });
      done.push(`created ${dir}/`);
    }
  }
  if (addToGitignore(root, [IGNORE_ENTRY], 'mlpipe local state: cache, stat index, run records, logs').length > 0) {
    done.push(`added ${IGNORE_ENTRY} to .gitignore`);
  }
  if (options.example) {
    for (const [path, text] of Object.entries(EXAMPLE_FILES)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    done.push(`wrote the example (${Object.keys(EXAMPLE_FILES).join(', ')})`);
  }
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, root, changes: done }));
  else ctx.out(done.length > 0 ? `Initialized mlpipe project in ${root}: ${done.join(', ')}` : `mlpipe project in ${root} is already initialized`);
  return EXIT.ok;
}
