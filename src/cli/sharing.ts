// `mlpipe push | fetch | pull | status --remote`: the outputs the lock files
// record (with --all-commits, those of every commit), moved between the local
// cache and a remote, with a progress line on a terminal and counts of files
// and bytes at the end. Exit 1 when a transfer failed (a rerun resumes: only
// what is missing moves), 2 for a bad remote choice or a read-only target.
import { createLogUpdate } from 'log-update';
import type { LockEntry, LockOut } from '../cache/lockfile.js';
import { RemoteChoiceError } from '../config/config.js';
import { blobsOf, type Progress, type TransferCounts } from '../remote/transfer.js';
import { RemoteError, openChosenRemote } from '../remote/store.js';
import { EXIT, type CliContext } from './context.js';
import { openLockedSession, openSession, type Session } from './session.js';
import { runCheckout } from './checkout.js';
import { flushState } from '../run/state.js';

export interface SharingOptions {
  readonly remote?: string;
  readonly jobs?: string;
  readonly allCommits?: boolean;
}

/** How often a plain progress line is printed. */
const PLAIN_EVERY_MS = 5000;

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KB` : bytes < 1024 ** 3 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/** A progress line redrawn on a terminal; in CI and logs a plain line every few seconds. */
function progressLine(ctx: CliContext, verb: string): { progress: Progress; done: () => void } {
  if (ctx.json) return { progress: () => {}, done: () => {} };
  if (!ctx.stderr.isTTY || ctx.env.CI) {
    let last = Date.now();
    return {
      progress: (done, total, bytes) => {
        const now = Date.now();
        if (now - last < PLAIN_EVERY_MS || done === total) return;
        last = now;
        ctx.log(`${verb} ${done}/${total} files, ${size(bytes)}`);
      },
      done: () => {},
    };
  }
  const live = createLogUpdate(ctx.stderr);
  let last = 0;
  return {
    progress: (done, total, bytes) => {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      live(`${verb} ${done}/${total} files, ${size(bytes)}`);
    },
    done: () => live.clear(),
  };
}

/** The lock entries of the selected stages, with only the outputs each stage declares. */
export function entriesOf(session: Session): { entry: LockEntry; stage: string }[] {
  const out: { entry: LockEntry; stage: string }[] = [];
  for (const id of session.selected) {
    const stage = session.g.index.byId.get(id)!;
    const entry = session.state.locks.get(stage);
    if (!entry) continue;
    const declared = new Set(stage.outs.map((o) => o.path));
    const outs = Object.fromEntries(Object.entries(entry.outs).filter(([p]) => declared.has(p)));
    out.push({ entry: { ...entry, outs }, stage: id });
  }
  return out;
}

function summary(ctx: CliContext, verb: string, remote: string, c: TransferCounts): number {
  if (ctx.json) {
    ctx.out(JSON.stringify({ ok: c.errors.length === 0, remote, ...c }, null, 2));
  } else {
    ctx.log(
      `${verb} ${c.files} file${c.files === 1 ? '' : 's'} (${size(c.bytes)})${verb === 'pushed' ? ` and ${c.records} record${c.records === 1 ? '' : 's'}` : ''} ${verb === 'pushed' ? 'to' : 'from'} ${remote}; ${c.skipped} (${size(c.skippedBytes)}) already there` +
        (c.missing > 0 ? `; ${c.missing} ${verb === 'pushed' ? 'not in the local cache (run the stages that make them)' : 'not on the remote'}` : ''),
    );
    for (const h of c.corrupt) ctx.log(`error: remote "${remote}": object ${h} does not match its hash; it was not used`);
    if (c.errors.length > 0) ctx.log(`error: ${c.errors[0]}${c.errors.length > 1 ? ` (and ${c.errors.length - 1} more failures)` : ''}\n  nothing is lost: run it again to move what is still missing`);
  }
  return c.errors.length > 0 || c.corrupt.length > 0 ? EXIT.failed : EXIT.ok;
}

function jobsOf(o: SharingOptions, fallback: number): number {
  if (o.jobs === undefined) return fallback;
  const n = Number(o.jobs);
  if (!Number.isInteger(n) || n < 1) throw new RemoteError('-j', `must be a whole number of at least 1, not "${o.jobs}"`);
  return n;
}

async function guarded(ctx: CliContext, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof RemoteError) {
      ctx.log(`error: ${e.message}${e.transient ? '\n  nothing is lost: run it again to move what is still missing' : ''}`);
      return e.transient ? EXIT.failed : EXIT.invalid;
    }
    if (e instanceof RemoteChoiceError) return ctx.error(e.message, e.suggestion);
    throw e;
  }
}

export function runPush(ctx: CliContext, targets: string[], o: SharingOptions): Promise<number> {
  return guarded(ctx, async () => {
    const session = await openSession(ctx, { targets, mode: 'single' });
    if (Array.isArray(session)) return ctx.fail(session);
    const remote = await openChosenRemote(session.root, session.state.config, session.state.store, o.remote);
    try {
      if (remote.store.readOnly) {
        ctx.log(`error: remote "${remote.store.name}" is read-only (read_only: true): nothing is pushed to it`);
        return EXIT.invalid;
      }
      let entries = entriesOf(session).map((e) => e.entry);
      if (o.allCommits) {
        const { entriesOfAllCommits } = await import('../remote/history.js');
        entries = [...new Map([...entries, ...(await entriesOfAllCommits(session.root))].map((e) => [e.key, e])).values()];
      }
      const blobs = entries.flatMap((e) => Object.values(e.outs).flatMap((out) => blobsOf(session.state.store, out).blobs));
      const { progress, done } = progressLine(ctx, 'pushing');
      const counts = await remote.cache.push(blobs, entries, jobsOf(o, remote.store.jobs), progress);
      done();
      return summary(ctx, 'pushed', remote.store.name, counts);
    } finally {
      remote.store.close?.();
    }
  });
}

/** fetch, and pull (fetch + checkout): downloads under the project lock, into the cache. */
export function runFetch(ctx: CliContext, targets: string[], o: SharingOptions, argv: string[], checkout: boolean): Promise<number> {
  return guarded(ctx, async () => {
    const opened = await openLockedSession(ctx, { targets, mode: 'single' }, argv);
    if (Array.isArray(opened)) return ctx.fail(opened);
    let code: number;
    try {
      const { session } = opened;
      const remote = await openChosenRemote(session.root, session.state.config, session.state.store, o.remote);
      try {
        const outs: LockOut[] = entriesOf(session).flatMap((e) => Object.values(e.entry.outs));
        const { progress, done } = progressLine(ctx, 'fetching');
        const counts = await remote.cache.fetch(outs, jobsOf(o, remote.store.jobs), progress);
        done();
        flushState(session.state);
        code = summary(ctx, 'fetched', remote.store.name, counts);
      } finally {
        remote.store.close?.();
      }
    } finally {
      opened.lock.release();
    }
    if (!checkout || code !== EXIT.ok) return code;
    return runCheckout(ctx, targets, argv);
  });
}

/** status --remote: the outputs (with their stages) whose blobs the remote lacks. */
export function runStatusRemote(ctx: CliContext, targets: string[], o: SharingOptions): Promise<number> {
  return guarded(ctx, async () => {
    const session = await openSession(ctx, { targets, mode: targets.length > 0 ? 'upstream' : 'single' });
    if (Array.isArray(session)) return ctx.fail(session);
    const remote = await openChosenRemote(session.root, session.state.config, session.state.store, o.remote);
    try {
      const rows: { stage: string; path: string; missing: number; files: number; local: boolean }[] = [];
      const all = entriesOf(session).flatMap(({ entry, stage }) => Object.entries(entry.outs).map(([path, out]) => ({ stage, path, ...blobsOf(session.state.store, out) })));
      const missing = new Set((await remote.cache.missingOnRemote(all.flatMap((a) => a.blobs), jobsOf(o, remote.store.jobs))).map((b) => b.hash));
      for (const a of all) {
        const lacking = a.blobs.filter((b) => missing.has(b.hash)).length;
        if (!a.complete || lacking > 0) rows.push({ stage: a.stage, path: a.path, missing: lacking, files: a.blobs.length, local: a.complete });
      }
      if (ctx.json) ctx.out(JSON.stringify({ ok: true, remote: remote.store.name, missing: rows }, null, 2));
      else {
        for (const r of rows) ctx.out(`${r.stage}  ${r.path}  ${r.local ? `not on ${remote.store.name} (${r.missing} of ${r.files} objects)` : 'not in the local cache either'}`);
        ctx.log(rows.length === 0 ? `${remote.store.name} has every output the lock files record` : `${rows.length} output${rows.length === 1 ? '' : 's'} missing on ${remote.store.name} (mlpipe push)`);
      }
      return EXIT.ok;
    } finally {
      remote.store.close?.();
    }
  });
}
