// `mlpipe status [TARGET...]`: what is stale and why, without running anything.
// `--check` exits 1 when anything is stale (for pre-commit hooks and CI).
import { flushState } from '../run/state.js';
import { plan } from '../run/engine.js';
import { EXIT, type CliContext } from './context.js';
import { openSession } from './session.js';

export interface StatusOptions {
  readonly check?: boolean;
}

const LABEL: Record<string, string> = {
  fresh: 'fresh',
  frozen: 'frozen',
  'would-run': 'stale',
  'would-restore': 'restorable',
  'condition-false': 'skipped',
};

export async function runStatus(ctx: CliContext, targets: string[], options: StatusOptions): Promise<number> {
  const session = await openSession(ctx, { targets, mode: 'upstream' });
  if (Array.isArray(session)) return ctx.fail(session);
  const records = plan(session.state, session.g, session.selected, { force: false, forced: new Set() });
  flushState(session.state);
  const stale = records.filter((r) => r.outcome === 'would-run' || r.outcome === 'would-restore');
  if (ctx.json) {
    ctx.out(
      JSON.stringify(
        {
          ok: true,
          stale: stale.length,
          stages: records.map((r) => ({ id: r.id, status: LABEL[r.outcome] ?? r.outcome, reasons: r.reasons.map((x) => x.message), reasonKinds: r.reasons.map((x) => x.kind), ...(r.condition ? { condition: r.condition } : {}) })),
        },
        null,
        2,
      ),
    );
  } else {
    const c = ctx.colors;
    const width = Math.max(0, ...records.map((r) => r.id.length));
    for (const r of records) {
      const label = LABEL[r.outcome] ?? r.outcome;
      const colored = label === 'fresh' ? c.green(label) : label === 'stale' ? c.yellow(label) : label === 'restorable' ? c.cyan(label) : c.dim(label);
      ctx.out(`${r.id.padEnd(width)}  ${colored}${r.reasons.length > 0 ? `: ${r.reasons.map((x) => x.message).join('; ')}` : ''}`);
    }
    ctx.log(stale.length === 0 ? 'everything is up to date' : `${stale.length} of ${records.length} stage${records.length === 1 ? '' : 's'} stale`);
  }
  return options.check && stale.length > 0 ? EXIT.failed : EXIT.ok;
}
