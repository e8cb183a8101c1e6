// The lock entries of every commit (branches, tags and experiments: `git
// rev-list --all`), for `push --all-commits`, `gc` and experiments: each commit's pipelines/*.lock
// read through one cat-file process, each distinct lock blob parsed once and
// checked against the lock schema (a commit's files are untrusted input).
import validateLock from '../generated/lock-validate.js';
import type { LockEntry, LockFileData } from '../cache/lockfile.js';
import { parseData } from '../compare/snapshot.js';
import { PIPELINES_DIR } from '../pipeline/project.js';
import { CatFile, GitRepo } from '../revision/git.js';

export async function entriesOfAllCommits(root: string): Promise<LockEntry[]> {
  const repo = GitRepo.open(root);
  if (!repo?.head()) return [];
  return entriesOfCommits(repo, repo.gitOk(['rev-list', '--all']).split('\n').filter((c) => /^[0-9a-f]{40,64}$/.test(c)));
}

/** The lock entries of the given commits (by stage key). */
export async function entriesOfCommits(repo: GitRepo, commits: readonly string[]): Promise<LockEntry[]> {
  const cat = new CatFile(repo);
  const seen = new Set<string>();
  const entries = new Map<string, LockEntry>();
  try {
    for (const commit of commits) {
      const names = (await cat.list(commit, PIPELINES_DIR)) ?? [];
      for (const n of names) {
        if (n.isDir || !n.name.endsWith('.lock')) continue;
        const blob = await cat.readBlob(commit, `${PIPELINES_DIR}/${n.name}`);
        if (!blob || seen.has(blob.oid)) continue;
        seen.add(blob.oid);
        const parsed = parseData(blob.bytes, n.name);
        if (!('data' in parsed) || !validateLock(parsed.data)) continue;
        for (const e of Object.values((parsed.data as LockFileData).stages)) entries.set(e.key, e);
      }
    }
  } finally {
    cat.close();
  }
  return [...entries.values()];
}
