// `mlpipe checkout [TARGET...]`: puts the outputs recorded in the lock files
// back from the cache (after a `git checkout` of another branch, or a deletion).
import { flushState } from '../run/state.js';
import type { ContentHash } from '../cache/hash.js';
import { OutsideRootError } from '../util/root-guard.js';
import { EXIT, type CliContext } from './context.js';
import { openLockedSession } from './session.js';

export async function runCheckout(ctx: CliContext, targets: string[], argv: string[]): Promise<number> {
  const opened = await openLockedSession(ctx, { targets, mode: 'single' }, argv);
  if (Array.isArray(opened)) return ctx.fail(opened);
  const { session, lock } = opened;
  const { state, g } = session;
  try {
    const restored: string[] = [];
    const failed: string[] = [];
    const refused: string[] = [];
    let unchanged = 0;
    for (const id of targets.length > 0 ? session.selected : g.order) {
      const stage = g.index.byId.get(id)!;
      const entry = state.locks.get(stage);
      if (!entry) continue;
      // Only outputs the stage declares: a lock file is not trusted to name paths.
      const declared = new Set(stage.outs.map((o) => o.path));
      for (const [path, out] of Object.entries(entry.outs)) {
        if (!declared.has(path)) continue;
        const s = state.ws.state(path);
        if (s.kind !== 'missing' && s.hash === out.hash) {
          unchanged++;
          continue;
        }
        try {
          if (state.store.restore(out.hash as ContentHash, out.files !== undefined, state.ws.abs(path))) {
            state.ws.invalidate(path);
            restored.push(path);
          } else failed.push(path);
        } catch (e) {
          if (!(e instanceof OutsideRootError)) throw e;
          refused.push(e.message);
        }
      }
    }
    flushState(state);
    const ok = failed.length === 0 && refused.length === 0;
    if (ctx.json) ctx.out(JSON.stringify({ ok, restored, failed, refused, unchanged, corrupt: state.store.corrupt }, null, 2));
    else {
      for (const p of restored) ctx.out(`restored ${p}`);
      for (const h of state.store.corrupt) ctx.log(`error: cache object ${h} was corrupt and has been discarded`);
      for (const p of failed) ctx.log(`error: cannot restore ${p}: not in the cache (run the stage that makes it)`);
      for (const m of refused) ctx.log(`error: cannot restore ${m}`);
      ctx.log(`${restored.length} restored, ${unchanged} already in place${failed.length > 0 ? `, ${failed.length} missing from the cache` : ''}${refused.length > 0 ? `, ${refused.length} refused` : ''}`);
    }
    return ok ? EXIT.ok : EXIT.failed;
  } finally {
    lock.release();
  }
}
