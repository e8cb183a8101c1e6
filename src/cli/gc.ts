// `mlpipe gc`: deletes cache objects that no lock file, no run-cache entry and
// no registered model version (registry/, retired ones included) references,
// and the copies of versions restored for serving (.mlpipe/models/). `--dry-run`
// only reports what would go.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeDeadTemps } from '../util/atomic-write.js';
import type { ContentHash } from '../cache/hash.js';
import type { LockOut } from '../cache/lockfile.js';
import { modelNames, readModel, RegistryError } from '../registry/registry.js';
import { restoredModelsDir, versionObjects } from '../registry/model-store.js';
import { EXIT, type CliContext } from './context.js';
import { openLockedSession } from './session.js';

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export async function runGc(ctx: CliContext, options: { dryRun?: boolean }, argv: string[]): Promise<number> {
  const opened = await openLockedSession(ctx, { targets: [], mode: 'upstream' }, argv);
  if (Array.isArray(opened)) return ctx.fail(opened);
  const { session, lock } = opened;
  const { state } = session;
  try {
    const keep = new Set<string>();
    const mark = (out: LockOut) => {
      keep.add(out.hash);
      if (out.files !== undefined) for (const [, h] of state.store.readManifest(out.hash as ContentHash) ?? []) keep.add(h);
    };
    for (const out of state.locks.outputs()) mark(out);
    for (const entry of state.runCache.entries()) for (const out of Object.values(entry.outs)) mark(out);
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
    if (ctx.json) ctx.out(JSON.stringify({ ok: true, dryRun: options.dryRun === true, removed, freedBytes: freed, kept, keptBytes }, null, 2));
    else ctx.out(`${options.dryRun ? 'would remove' : 'removed'} ${removed} object${removed === 1 ? '' : 's'} (${human(freed)}); ${kept} kept (${human(keptBytes)})`);
    return EXIT.ok;
  } finally {
    lock.release();
  }
}
