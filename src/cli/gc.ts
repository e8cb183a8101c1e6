// `mlpipe gc`: deletes cache objects that no lock file (the workspace's and
// every experiment's), no run-cache entry and no registered model version
// (registry/, retired ones included) references, and the copies of versions
// restored for serving (.mlpipe/models/). `--run-cache` first prunes the
// run-cache by age or count (entries the lock files use are kept); `--remote`
// collects a remote cache instead. `--dry-run` only reports what would go.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeDeadTemps } from '../util/atomic-write.js';
import type { ContentHash } from '../cache/hash.js';
import type { LockOut } from '../cache/lockfile.js';
import { modelNames, readModel, RegistryError } from '../registry/registry.js';
import { restoredModelsDir, versionObjects } from '../registry/model-store.js';
import { EXIT, type CliContext } from './context.js';
import { openLockedSession, type Session } from './session.js';

export function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export interface GcOptions {
  readonly dryRun?: boolean;
  readonly runCache?: boolean;
  readonly keep?: string;
  readonly olderThan?: string;
  readonly remote?: boolean;
  readonly remoteName?: string;
}

/** run-cache entries to drop: beyond the newest `keep`, or older than `days`; never one a lock file uses. */
function prunable(state: Session['state'], o: GcOptions): { key: string; path: string }[] | string {
  const keep = o.keep === undefined ? undefined : Number(o.keep);
  const days = o.olderThan === undefined ? undefined : Number(o.olderThan);
  if (keep === undefined && days === undefined) return '--run-cache needs a policy: --keep N (the newest N entries) and/or --older-than DAYS';
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 0)) return `--keep must be a whole number, not "${o.keep}"`;
  if (days !== undefined && (!Number.isFinite(days) || days < 0)) return `--older-than must be a number of days, not "${o.olderThan}"`;
  const used = new Set<string>();
  for (const p of state.locks.keys()) used.add(p);
  const files = [...state.runCache.files()].sort((a, b) => b.mtimeMs - a.mtimeMs);
  const cutoff = days === undefined ? undefined : Date.now() - days * 86_400_000;
  return files.filter((f, i) => !used.has(f.key) && ((keep !== undefined && i >= keep) || (cutoff !== undefined && f.mtimeMs < cutoff)));
}

export async function runGc(ctx: CliContext, options: GcOptions, argv: string[]): Promise<number> {
  if (options.remote || options.remoteName) {
    const { runGcRemote } = await import('./gc-remote.js');
    return runGcRemote(ctx, options, argv);
  }
  const opened = await openLockedSession(ctx, { targets: [], mode: 'upstream' }, argv);
  if (Array.isArray(opened)) return ctx.fail(opened);
  const { session, lock } = opened;
  const { state } = session;
  try {
    let prunedEntries = 0;
    const dropped = new Set<string>();
    if (options.runCache) {
      const drop = prunable(state, options);
      if (typeof drop === 'string') return ctx.error(drop);
      prunedEntries = drop.length;
      for (const f of drop) {
        dropped.add(f.key);
        if (!options.dryRun) rmSync(f.path, { force: true });
      }
    }
    const keep = new Set<string>();
    const mark = (out: LockOut) => {
      keep.add(out.hash);
      if (out.files !== undefined) for (const [, h] of state.store.readManifest(out.hash as ContentHash) ?? []) keep.add(h);
    };
    for (const out of state.locks.outputs()) mark(out);
    // Experiments (refs/exps/) can be applied later: their outputs stay.
    const { GitRepo } = await import('../revision/git.js');
    const repo = GitRepo.open(session.root);
    if (repo?.head()) {
      const { entriesOfCommits } = await import('../remote/history.js');
      for (const entry of await entriesOfCommits(repo, repo.experiments().map((e) => e.commit))) for (const out of Object.values(entry.outs)) mark(out);
    }
    for (const entry of state.runCache.entries()) if (!dropped.has(entry.key)) for (const out of Object.values(entry.outs)) mark(out);
    try {
      for (const name of modelNames(session.root)) for (const v of readModel(session.root, name)?.versions ?? []) for (const h of versionObjects(state.store, v.hash as ContentHash)) keep.add(h);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      if (e.diagnostics) ctx.report(e.diagnostics);
      return ctx.error(e.message, 'gc deletes nothing while a registry file cannot be read (its versions\' objects must be kept)');
    }
    let removed = 0;
    let freed = 0;
    let kept = 0;
    let keptBytes = 0;
    for (const obj of state.store.list()) {
      if (keep.has(obj.hash)) {
        kept++;
        keptBytes += obj.size;
        continue;
      }
      removed++;
      freed += obj.size;
      if (!options.dryRun) rmSync(obj.path, { force: true });
    }
    // Copies of registered versions restored for serving: the cache has their bytes.
    if (!options.dryRun) rmSync(restoredModelsDir(session.root), { recursive: true, force: true });
    // Temp files a killed writer left in the cache's shard directories.
    if (!options.dryRun) {
      for (const base of [state.store.objects, join(state.stateDir, 'run-cache')]) {
        if (existsSync(base)) for (const shard of readdirSync(base)) removeDeadTemps(join(base, shard));
      }
    }
    if (ctx.json) ctx.out(JSON.stringify({ ok: true, dryRun: options.dryRun === true, removed, freedBytes: freed, kept, keptBytes, ...(options.runCache ? { runCacheEntries: prunedEntries } : {}) }, null, 2));
    else {
      if (options.runCache) ctx.out(`${options.dryRun ? 'would drop' : 'dropped'} ${prunedEntries} run-cache entr${prunedEntries === 1 ? 'y' : 'ies'}`);
      ctx.out(`${options.dryRun ? 'would remove' : 'removed'} ${removed} object${removed === 1 ? '' : 's'} (${human(freed)}); ${kept} kept (${human(keptBytes)})`);
    }
    return EXIT.ok;
  } finally {
    lock.release();
  }
}
