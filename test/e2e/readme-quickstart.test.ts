// The README's quick start, run verbatim as a new user would: its shell block
// is taken from README.md and executed with `mlpipe` being the built CLI, in
// an empty directory. If the README and the tool drift apart, this fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BIN, REPO } from '../rig.js';

function quickStart(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README has no sh block under "## Quick start"');
  return block[1]!;
}

it('the README quick start runs as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlpipe-quickstart-'));
  try {
    const script = `set -eu\nmlpipe() { "${process.execPath}" "${BIN}" "$@"; }\n${quickStart()}`;
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@a', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@a' };
    delete env.GITHUB_ACTIONS;
    const r = spawnSync('sh', ['-c', script], { cwd: dir, env, encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toContain('recorded lr-4 (train.lr=0.02 train.epochs=200)');
    expect(r.stdout).toMatch(/lr-4\s+\S+ \S+\s+done\s+200\s+0\.02/);
    expect(r.stdout).toMatch(/metrics\/train\.json\s+test_mse\s+0\.38718\s+0\.09214\s+-0\.29504/);
    expect(readFileSync(join(dir, 'mlpipe_plots', 'index.html'), 'utf8')).toContain('<svg');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
