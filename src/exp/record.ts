// Experiments as git commits under refs/exps/<base commit>/<name>, made with
// plumbing and a temporary index from a working copy: the user's working tree,
// index, HEAD and branches are never touched. The commit's parent is the base
// commit; its message says the experiment's name, state (queued, done,
// failed), the --set values it tried and, when it failed, why. A ref is
// created only if absent (or moved only from the commit it is expected to
// hold), so two processes never record one name twice.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from '../pipeline/project.js';
import { EXPS_REFS, GitError, type Experiment, type GitRepo } from '../revision/git.js';
import type { WorkingCopy } from './working-copy.js';

export type ExperimentState = 'queued' | 'running' | 'done' | 'failed';

export interface ExperimentMeta {
  readonly name: string;
  readonly state: ExperimentState;
  /** KEY=VALUE as given (one value of a sweep each). */
  readonly sets: readonly string[];
  readonly failure?: string;
}

const SUBJECT = 'mlpipe experiment: ';

export function messageOf(meta: ExperimentMeta): string {
  const lines = [`${SUBJECT}${meta.name}`, '', `state: ${meta.state}`, ...meta.sets.map((s) => `set: ${s.replace(/\n/g, ' ')}`)];
  if (meta.failure) lines.push(`failure: ${meta.failure.replace(/\n/g, ' ').slice(0, 2000)}`);
  return `${lines.join('\n')}\n`;
}

/** Reads a message back; a commit that is not an mlpipe experiment (or a forged one) yields what can be read. */
export function metaOf(name: string, message: string): ExperimentMeta {
  const field = (k: string) => message.split('\n').filter((l) => l.startsWith(`${k}: `)).map((l) => l.slice(k.length + 2));
  const state = field('state')[0];
  const failure = field('failure')[0];
  return {
    name,
    state: state === 'queued' || state === 'done' || state === 'failed' || state === 'running' ? state : 'done',
    sets: field('set').slice(0, 1000),
    ...(failure ? { failure } : {}),
  };
}

export function refOf(base: string, name: string): string {
  return `${EXPS_REFS}/${base}/${name}`;
}

/** A name git accepts as one ref component and mlpipe as an experiment name. */
export function validName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name) && !name.includes('..') && !name.endsWith('.lock') && !name.endsWith('.');
}

const ZERO = '0'.repeat(40);

/** Identity for commit-tree when the user has none configured (a CI runner, a fresh container). */
function identityEnv(repo: GitRepo): NodeJS.ProcessEnv {
  const r = repo.git(['var', 'GIT_COMMITTER_IDENT']);
  return r.code === 0 ? {} : { GIT_AUTHOR_NAME: 'mlpipe', GIT_AUTHOR_EMAIL: 'mlpipe@localhost', GIT_COMMITTER_NAME: 'mlpipe', GIT_COMMITTER_EMAIL: 'mlpipe@localhost' };
}

/**
 * Records the working copy as an experiment commit and points its ref at it:
 * creating the ref (`expected` undefined: it must not exist) or moving it from
 * `expected` (a queued experiment that has now run). Returns the commit.
 */
export function recordExperiment(repo: GitRepo, copy: WorkingCopy, base: string, meta: ExperimentMeta, expected?: string): string {
  const gitDir = repo.gitOk(['rev-parse', '--absolute-git-dir']).trim();
  const tmpDir = join(repo.root, STATE_DIR, 'exps', 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  const index = join(tmpDir, `index-${process.pid}-${randomBytes(4).toString('hex')}`);
  const env = { GIT_INDEX_FILE: index, ...identityEnv(repo) };
  try {
    const inCopy = (args: string[], input?: string) => {
      const r = repo.git(['--git-dir', gitDir, '--work-tree', copy.top, ...args], { env, ...(input !== undefined ? { input } : {}) });
      if (r.code !== 0) throw new GitError(`git ${args[0]} failed: ${r.stderr.trim()}`);
      return r.stdout.trim();
    };
    inCopy(['read-tree', base]);
    // The copy's own .mlpipe/ (stat index, project lock) is never part of an experiment, ignored or not.
    rmSync(join(copy.root, STATE_DIR), { recursive: true, force: true });
    inCopy(['-C', copy.top, 'add', '--all', '--', repo.prefix === '' ? '.' : repo.prefix]);
    const tree = inCopy(['write-tree']);
    const commit = inCopy(['commit-tree', tree, '-p', base, '-F', '-'], messageOf(meta));
    const r = repo.git(['update-ref', '-m', `mlpipe exp: ${meta.state}`, refOf(base, meta.name), commit, expected ?? ZERO]);
    if (r.code !== 0) throw new GitError(expected ? `experiment "${meta.name}" changed while it ran (${r.stderr.trim()})` : `an experiment named "${meta.name}" already exists on this commit`);
    return commit;
  } finally {
    rmSync(index, { force: true });
  }
}

export interface ExperimentInfo extends Experiment {
  readonly meta: ExperimentMeta;
  /** ISO 8601 time of the commit. */
  readonly created: string;
}

/** Every experiment (of one base commit, or all) with its metadata, from one git process. */
export function listExperiments(repo: GitRepo, base?: string): ExperimentInfo[] {
  const r = repo.git(['for-each-ref', '--sort=creatordate', '--format=%(objectname)%00%(refname)%00%(creatordate:iso-strict)%00%(contents)%00%1e', base ? `${EXPS_REFS}/${base}/` : `${EXPS_REFS}/`]);
  if (r.code !== 0) return [];
  const out: ExperimentInfo[] = [];
  for (const record of r.stdout.split('\x1e')) {
    const [commit, ref, created, message] = record.replace(/^\n/, '').split('\0');
    const m = ref ? /^refs\/exps\/([0-9a-f]{40,64})\/(.+)$/.exec(ref) : undefined;
    if (!commit || !m || !validName(m[2]!)) continue;
    out.push({ commit, ref: ref!, base: m[1]!, name: m[2]!, created: created ?? '', meta: metaOf(m[2]!, message ?? '') });
  }
  return out;
}
