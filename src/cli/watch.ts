// `mlpipe watch [TARGET...]`: run, then rerun what a change affects, until
// Ctrl-C (exit 130) or SIGTERM (143). See watch/loop.ts for the semantics.
import { EXIT, type CliContext } from './context.js';
import { applyRunOptions, runCycle, type RunOptions } from './run.js';
import { reportersFor } from './reporting.js';
import { WatchLoop } from '../watch/loop.js';
import { watchSetOf, type WatchSet } from '../watch/watch-set.js';

/** Quiet time after the last change before a run starts (at least chokidar's 50 ms change throttle). */
const DEFAULT_DEBOUNCE_MS = 100;
const MIN_DEBOUNCE_MS = 50;

export async function runWatch(ctx: CliContext, targets: string[], options: RunOptions, argv: string[]): Promise<number> {
  const jobs = applyRunOptions(options);
  if (typeof jobs !== 'number') return ctx.fail([jobs]);
  const found = ctx.root();
  if ('diagnostic' in found) return ctx.fail([found.diagnostic]);
  const reporter = await reportersFor(ctx, options.junit ? { junit: options.junit } : {});
  let watched: WatchSet = watchSetOf(found.root, [], undefined, []);
  const loop = new WatchLoop({
    reporter,
    debounceMs: Math.max(MIN_DEBOUNCE_MS, Number(ctx.env.MLPIPE_WATCH_DEBOUNCE_MS ?? DEFAULT_DEBOUNCE_MS) || DEFAULT_DEBOUNCE_MS),
    runOnce: async ({ skipFailed, onEngine, watch }) => {
      const result = await runCycle(ctx, targets, options, jobs, argv, reporter, {
        skipFailed,
        onEngine,
        onPlanned: async (session) => {
          watched = watchSetOf(session.root, session.pipelines, session.g, session.selected);
          await watch(watched);
        },
      });
      if (result.kind === 'invalid') {
        // Keep watching what was watched (and pipelines/): fixing the edit resumes.
        if (ctx.json) reporter.event({ type: 'diagnostics', diagnostics: ctx.diagnosticsJson(result.diagnostics) as Record<string, unknown>[] });
        else ctx.report(result.diagnostics);
        await watch(watched);
      }
      return result;
    },
  });
  let code: number = EXIT.sigint;
  const stop = (signal: NodeJS.Signals) => {
    code = signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    void loop.stop(signal);
  };
  const onSigint = () => stop('SIGINT');
  const onSigterm = () => stop('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    await loop.start();
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    reporter.close();
  }
  return code;
}
