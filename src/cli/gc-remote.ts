// `mlpipe gc --remote [-r NAME] [--dry-run]`: deletes the blobs of a remote
// cache that no commit's lock file (branches, tags, experiments: `git
// rev-list --all`), no workspace lock file and no registered model version
// references, and the records that named them. Needs a remote that can list
// its keys (a directory or S3; Bazel's HTTP protocol has no listing).
import type { ContentHash } from '../cache/hash.js';
import type { LockOut } from '../cache/lockfile.js';
import { RemoteChoiceError } from '../config/config.js';
import { modelNames, readModel, RegistryError } from '../registry/registry.js';
import { versionObjects } from '../registry/model-store.js';
import { entriesOfAllCommits } from '../remote/history.js';
import { RemoteError, openChosenRemote } from '../remote/store.js';
import { parseRecord, pool } from '../remote/transfer.js';
import { EXIT, type CliContext } from './context.js';
import type { GcOptions } from './gc.js';
import { openLockedSession } from './session.js';

export async function runGcRemote(ctx: CliContext, o: GcOptions, argv: string[]): Promise<number> {
  const opened = await openLockedSession(ctx, { targets: [], mode: 'upstream' }, argv);
  if (Array.isArray(opened)) return ctx.fail(opened);
  const { session, lock } = opened;
  try {
    const { store, cache } = await openChosenRemote(session.root, session.state.config, session.state.store, o.remoteName);
    try {
      if (!store.list || !store.delete) return ctx.error(`remote "${store.name}" cannot list its objects (the HTTP remote-cache protocol has no listing)`, 'collect it on the server, or use a directory or s3 remote');
      if (store.readOnly && !o.dryRun) return ctx.error(`remote "${store.name}" is read-only: gc deletes nothing there`);
      const keep = new Set<string>();
      const manifests: string[] = [];
      const mark = (out: LockOut) => {
        keep.add(out.hash);
        if (out.files !== undefined) manifests.push(out.hash);
      };
      for (const out of session.state.locks.outputs()) mark(out);
      for (const entry of await entriesOfAllCommits(session.root)) for (const out of Object.values(entry.outs)) mark(out);
      try {
        for (const name of modelNames(session.root)) for (const v of readModel(session.root, name)?.versions ?? []) for (const h of versionObjects(session.state.store, v.hash as ContentHash)) keep.add(h);
      } catch (e) {
        if (!(e instanceof RegistryError)) throw e;
        return ctx.error(e.message, 'gc deletes nothing while a registry file cannot be read');
      }
      // A directory's files are named by its manifest: read locally, else from the remote (verified).
      const counts = { files: 0, bytes: 0, skipped: 0, skippedBytes: 0, missing: 0, corrupt: [] as string[], records: 0, errors: [] as string[] };
      await pool([...new Set(manifests)], store.jobs, async (h) => {
        if (!session.state.store.has(h as ContentHash)) await cache.fetchBlob(h as ContentHash, counts);
        const entries = session.state.store.readManifest(h as ContentHash);
        if (!entries) throw new RemoteError(store.name, `the manifest ${h} of a kept directory is neither local nor on the remote intact; gc deletes nothing`);
        for (const [, f] of entries) keep.add(f);
      });
      const blobs: string[] = [];
      for await (const k of store.list('cas')) if (!keep.has(k)) blobs.push(k);
      const records: string[] = [];
      for await (const key of store.list('ac')) {
        const stream = await store.get('ac', key);
        const chunks: Buffer[] = [];
        if (stream) for await (const c of stream) chunks.push(c as Buffer);
        const entry = parseRecord(Buffer.concat(chunks), key);
        // A record whose blobs go (or that cannot be read) goes too: it would only be a miss.
        if (!entry || Object.values(entry.outs).some((out) => !keep.has(out.hash))) records.push(key);
      }
      if (!o.dryRun) {
        await pool(records, store.jobs, (k) => store.delete!('ac', k));
        await pool(blobs, store.jobs, (k) => store.delete!('cas', k));
        cache.forgetKnown();
      }
      if (ctx.json) ctx.out(JSON.stringify({ ok: true, remote: store.name, dryRun: o.dryRun === true, blobs: blobs.length, records: records.length, kept: keep.size }, null, 2));
      else ctx.out(`${o.dryRun ? 'would remove' : 'removed'} ${blobs.length} blob${blobs.length === 1 ? '' : 's'} and ${records.length} record${records.length === 1 ? '' : 's'} from ${store.name}; ${keep.size} referenced objects kept`);
      return EXIT.ok;
    } finally {
      store.close?.();
    }
  } catch (e) {
    if (e instanceof RemoteChoiceError) return ctx.error(e.message, e.suggestion);
    if (e instanceof RemoteError) return ctx.error(e.message);
    throw e;
  } finally {
    lock.release();
  }
}
