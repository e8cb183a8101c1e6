// What a run changed: the metrics whose values in the working tree differ
// from those at HEAD, listed when a run ends (every reporter, and the GitHub
// job summary). Nothing outside a git repository or before the first commit.
import { join } from 'node:path';
import { CacheStore } from '../cache/store.js';
import { STATE_DIR } from '../pipeline/project.js';
import type { MetricChange } from '../report/events.js';
import { CatFile, GitRepo } from '../revision/git.js';
import { BlobCache } from '../revision/blob-cache.js';
import { ParseCache } from '../pipeline/parse-cache.js';
import { compareFiles } from './diff.js';
import { readSnapshot, revisionSource, workspaceSource } from './snapshot.js';

export async function metricsChangedSinceHead(root: string): Promise<MetricChange[] | undefined> {
  const repo = GitRepo.open(root);
  const head = repo?.head();
  if (!repo || !head) return undefined;
  const cat = new CatFile(repo);
  const stateDir = join(root, STATE_DIR);
  const blobs = BlobCache.load(stateDir);
  const parsed = ParseCache.load(stateDir);
  try {
    const store = new CacheStore(stateDir);
    const [before, after] = await Promise.all([readSnapshot(revisionSource(cat, head, 'HEAD', blobs), store, { metrics: true }), readSnapshot(workspaceSource(root, parsed), store, { metrics: true })]);
    return compareFiles([before.metrics, after.metrics])
      .filter((r) => r.changed && r.key !== '')
      .map((r) => ({ path: r.path, key: r.key, old: r.values[0] ?? null, new: r.values[1] ?? null, ...(r.change !== undefined ? { change: r.change } : {}) }));
  } finally {
    cat.close();
    blobs.flush();
    parsed.flush();
  }
}
