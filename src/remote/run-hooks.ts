// `run --pull` and `run --push`: the engine asks the remote for a stale
// stage's key before running it (a hit brings the outputs into the cache,
// verified, and the stage is restored instead of run), and hands every
// finished stage's lock entry to be uploaded (blobs, then the record),
// one stage after another in the background; the run waits for the uploads
// before it ends. Remote failures never fail the run: they are warned about
// once, and the stage runs (pull) or stays local (push).
import type { LockEntry } from '../cache/lockfile.js';
import { blobsOf, emptyCounts, type RemoteCache, type TransferCounts } from './transfer.js';
import type { RemoteStore } from './store.js';

export interface RemoteHooks {
  readonly name: string;
  /** The record of `key` with its outputs now in the local cache, or undefined (the stage runs). */
  pull?(key: string): Promise<LockEntry | undefined>;
  push?(entry: LockEntry): void;
  /** Waits for the uploads; what moved. */
  settle(): Promise<TransferCounts>;
}

export function remoteHooks(store: RemoteStore, cache: RemoteCache, o: { pull: boolean; push: boolean; jobs: number; warn: (message: string) => void }): RemoteHooks {
  const warned = new Set<string>();
  const warnOnce = (m: string) => {
    if (warned.has(m)) return;
    warned.add(m);
    o.warn(m);
  };
  const totals = emptyCounts();
  let chain: Promise<void> = Promise.resolve();
  const pushed = new Set<string>();
  const pushing = o.push && !store.readOnly;
  if (o.push && store.readOnly) warnOnce(`warning: remote "${store.name}" is read-only: run --push uploads nothing to it`);
  return {
    name: store.name,
    ...(o.pull
      ? {
          async pull(key: string) {
            try {
              const record = await cache.record(key);
              if (!record) return undefined;
              const counts = await cache.fetch(Object.values(record.outs), o.jobs);
              totals.files += counts.files;
              totals.bytes += counts.bytes;
              for (const h of counts.corrupt) warnOnce(`warning: remote "${store.name}": object ${h} does not match its hash; not used, the stage runs instead`);
              if (counts.errors.length > 0) warnOnce(`warning: ${counts.errors[0]}; the stage runs instead`);
              const complete = Object.values(record.outs).every((out) => cache.local.canRestore(out.hash as never, out.files !== undefined));
              return complete ? record : undefined;
            } catch (e) {
              warnOnce(`warning: ${(e as Error).message}; stages run instead of being pulled`);
              return undefined;
            }
          },
        }
      : {}),
    ...(pushing
      ? {
          push(entry: LockEntry) {
            if (pushed.has(entry.key)) return;
            pushed.add(entry.key);
            chain = chain.then(async () => {
              try {
                const blobs = Object.values(entry.outs).flatMap((out) => blobsOf(cache.local, out).blobs);
                const counts = await cache.push(blobs, [entry], o.jobs);
                totals.files += counts.files;
                totals.bytes += counts.bytes;
                totals.records += counts.records;
                if (counts.errors.length > 0) warnOnce(`warning: ${counts.errors[0]}; the outputs stay local (mlpipe push later)`);
              } catch (e) {
                warnOnce(`warning: ${(e as Error).message}; the outputs stay local (mlpipe push later)`);
              }
            });
          },
        }
      : {}),
    async settle() {
      await chain;
      return totals;
    },
  };
}
