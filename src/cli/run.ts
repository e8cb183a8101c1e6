// `mlpipe run [TARGET...]`: runs what is stale, in parallel, with the project
// lock held; `--dry-run` prints the plan instead.
import { flushState } from '../run/state.js';
import { EXIT, type CliContext } from './context.js';
import { openSession } from './session.js';
import { Engine, defaultJobs, plan } from '../run/engine.js';
import { ProjectLock } from '../run/project-lock.js';
import { JsonReporter, PlainReporter, type RunReporter } from '../report/run-events.js';
import { error } from '../pipeline/diagnostic.js';
import { join } from 'node:path';
import { STATE_DIR } from '../pipeline/project.js';

export interface RunOptions {
  readonly jobs?: string;
  readonly force?: boolean;
  readonly downstream?: boolean;
  readonly single?: boolean;
  readonly dryRun?: boolean;
  readonly keepGoing?: boolean;
  readonly set?: string[];
  readonly wait?: boolean;
}

export function reporterFor(ctx: CliContext): RunReporter {
  if (ctx.json) return new JsonReporter((s) => ctx.out(s));
  return new PlainReporter((s) => ctx.out(s), (s) => ctx.log(s), ctx.colors);
}

export async function runRun(ctx: CliContext, targets: string[], options: RunOptions, argv: string[]): Promise<number> {
  const jobs = options.jobs === undefined ? defaultJobs() : Number(options.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) return ctx.fail([error('bad-option', `--jobs must be a whole number of at least 1, not "${options.jobs}"`)]);
  const mode = options.single ? 'single' : options.downstream ? 'downstream' : 'upstream';
  const reporter = reporterFor(ctx);

  let lock: ProjectLock | undefined;
  if (!options.dryRun) {
    const root = ctx.root();
    if ('root' in root) {
      const stateDir = join(root.root, STATE_DIR);
      const command = ['mlpipe', ...argv].join(' ');
      if (options.wait === false) {
        const r = ProjectLock.tryAcquire(stateDir, command);
        if (!(r instanceof ProjectLock)) {
          ctx.log(`error: another mlpipe is running on this project (pid ${r.pid}: ${r.command}); not waiting (--no-wait)`);
          return EXIT.failed;
        }
        lock = r;
      } else {
        lock = await ProjectLock.acquire(stateDir, command, (h) => reporter.event({ type: 'waiting-for-lock', pid: h.pid, command: h.command }));
      }
    }
  }
  try {
    // Planned afresh after the lock is ours: whatever the other process did is seen.
    const session = await openSession(ctx, { targets, mode, ...(options.set ? { sets: options.set } : {}) });
    if (Array.isArray(session)) return ctx.fail(session);
    const engineOptions = { jobs, force: options.force === true, forced: session.targeted, keepGoing: options.keepGoing === true, argv };
    if (options.dryRun) {
      const records = plan(session.state, session.g, session.selected, engineOptions);
      const counts: Record<string, number> = {};
      for (const r of records) {
        counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
        reporter.event({ type: 'stage-finished', stage: r.id, outcome: r.outcome, reasons: r.reasons });
      }
      flushState(session.state);
      reporter.event({ type: 'run-finished', runId: 'dry-run', ok: true, counts, durationMs: 0 });
      return EXIT.ok;
    }
    const engine = new Engine(session.root, session.g, session.selected, session.state, reporter, engineOptions);
    const onSigint = () => engine.interrupt('SIGINT');
    const onSigterm = () => engine.interrupt('SIGTERM');
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    try {
      const summary = await engine.run();
      if (summary.interrupted) return summary.interrupted === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
      return summary.ok ? EXIT.ok : EXIT.failed;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
  } finally {
    lock?.release();
  }
}
