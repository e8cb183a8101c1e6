// An experiment's isolated working copy under .mlpipe/exps/work/<name>/: the
// project's files as git sees them in the working tree (tracked files with
// their uncommitted changes, and untracked files git does not ignore), or as
// a queued experiment's commit holds them. The copy mirrors the repository
// top, so that git can record it with a temporary index; the project root is
// <copy>/<prefix>. Outputs are not copied: the run restores them from the
// shared cache (reflinked where the filesystem allows).
import { spawnSync } from 'node:child_process';
import { constants, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GitError, type GitRepo } from '../revision/git.js';
import { STATE_DIR } from '../pipeline/project.js';

export interface WorkingCopy {
  /** The mirror of the repository top. */
  readonly top: string;
  /** The project root inside it. */
  readonly root: string;
}

export function workingCopyDir(projectRoot: string, name: string): string {
  return join(projectRoot, STATE_DIR, 'exps', 'work', name);
}

function copyEntry(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  const st = lstatSync(src);
  if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dest);
  else if (st.isFile()) copyFileSync(src, dest, constants.COPYFILE_FICLONE);
}

/** Copies the working tree as git sees it (uncommitted and untracked-but-not-ignored files included). */
export function copyWorkspace(repo: GitRepo, dest: string): WorkingCopy {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const listed = repo.gitOk(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--full-name', '--', '.']);
  const state = `${repo.prefix}${STATE_DIR}/`;
  for (const path of new Set(listed.split('\0'))) {
    if (path === '' || path.startsWith(state)) continue;
    try {
      copyEntry(join(repo.top, path), join(dest, path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted in the working tree: not part of it
    }
  }
  copyAncestorIgnores(repo, dest);
  return { top: dest, root: join(dest, repo.prefix) };
}

/** The .gitignore files above the project root, so git ignores in the copy what it ignores in the project. */
function copyAncestorIgnores(repo: GitRepo, dest: string): void {
  const parts = repo.prefix.split('/').filter((p) => p !== '');
  for (let i = 0; i < parts.length; i++) {
    const rel = join(...parts.slice(0, i), '.gitignore');
    if (existsSync(join(repo.top, rel))) copyEntry(join(repo.top, rel), join(dest, rel));
  }
}

/** Writes the project's files of a commit (a queued experiment) into a fresh copy. */
export function materializeCommit(repo: GitRepo, commit: string, dest: string): WorkingCopy {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const archive = spawnSync('git', ['archive', '--format=tar', commit, '--', repo.prefix === '' ? '.' : repo.prefix], { cwd: repo.top, maxBuffer: 4 * 1024 * 1024 * 1024 });
  if (archive.status !== 0) throw new GitError(`git archive failed: ${archive.stderr.toString().trim()}`);
  const tar = spawnSync('tar', ['-x', '-C', dest], { input: archive.stdout });
  if (tar.status !== 0) throw new GitError(`could not unpack the experiment's files: ${tar.stderr.toString().trim()}`);
  copyAncestorIgnores(repo, dest);
  return { top: dest, root: join(dest, repo.prefix) };
}

/**
 * Inputs that git ignores and no stage produces (a large raw dataset kept out
 * of git, say) are not in the copy: they are copied from the project
 * (reflinked where the filesystem allows), as they are the same for every experiment.
 */
export function copyIgnoredInputs(projectRoot: string, copy: WorkingCopy, paths: Iterable<string>): void {
  for (const path of paths) {
    const src = join(projectRoot, path);
    const dest = join(copy.root, path);
    if (existsSync(dest) || !existsSync(src)) continue;
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(src, dest, { recursive: true, mode: constants.COPYFILE_FICLONE, verbatimSymlinks: true });
  }
}
