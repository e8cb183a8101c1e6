// `mlpipe checkout [TARGET...]`: puts the outputs recorded in the lock files
// back from the cache (after a `git checkout` of another branch, or a deletion).
import { flushState } from '../run/state.js';
import type { ContentHash } from '../cache/hash.js';
import { ProjectLock } from '../run/project-lock.js';
import { EXIT, type CliContext } from './context.js';
import { openSession } from './session.js';

export async function runCheckout(ctx: CliContext, targets: string[], argv: string[]): Promise<number> {
  const session = await openSession(ctx, { targets, mode: 'single' });
  if (Array.isArray(session)) return ctx.fail(session);
  const { state, g } = session;
  const lock = await ProjectLock.acquire(state.stateDir, ['mlpipe', ...argv].join(' '), (h) => ctx.log(`waiting for another mlpipe on this project to finish (pid ${h.pid}: ${h.command})`));
  try {
    const restored: string[] = [];
    const failed: string[] = [];
    let unchanged = 0;
    for (const id of targets.length > 0 ? session.selected : g.order) {
      const stage = g.index.byId.get(id)!;
      const entry = state.locks.get(stage);
      if (!entry) continue;
      for (const [path, out] of Object.entries(entry.outs)) {
        const s = state.ws.state(path);
        if (s.kind !== 'missing' && s.hash === out.hash) {
          unchanged++;
          continue;
        }
        if (state.store.restore(out.hash as ContentHash, out.files !== undefined, state.ws.abs(path))) {
          state.ws.invalidate(path);
          restored.push(path);
        } else failed.push(path);
      }
    }
    flushState(state);
    if (ctx.json) ctx.out(JSON.stringify({ ok: failed.length === 0, restored, failed, unchanged, corrupt: state.store.corrupt }, null, 2));
    else {
      for (const p of restored) ctx.out(`restored ${p}`);
      for (const h of state.store.corrupt) ctx.log(`error: cache object ${h} was corrupt and has been discarded`);
      for (const p of failed) ctx.log(`error: cannot restore ${p}: not in the cache (run the stage that makes it)`);
      ctx.log(`${restored.length} restored, ${unchanged} already in place${failed.length > 0 ? `, ${failed.length} missing from the cache` : ''}`);
    }
    return failed.length === 0 ? EXIT.ok : EXIT.failed;
  } finally {
    lock.release();
  }
}
