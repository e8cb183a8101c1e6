// `mlpipe run [TARGET...]`: runs what is stale, in parallel, with the project
// lock held; `--dry-run` prints the plan instead; `--frozen` refuses to run
// when the committed lock files are stale. `runCycle` is one such run, which
// watch mode repeats.
import { flushState } from '../run/state.js';
import { EXIT, type CliContext } from './context.js';
import { openSession, type Session } from './session.js';
import { Engine, defaultJobs, newRunId, plan, planWhile, staleAgainstLocks, type RunSummary, type StageRecord } from '../run/engine.js';
import { keyRecord, stageKey } from '../cache/key.js';
import { existsSync, statSync } from 'node:fs';
import { lockPathFor } from '../cache/lockfile.js';
import { ProjectLock } from '../run/project-lock.js';
import { reportersFor } from './reporting.js';
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import { chooseBackend } from '../ml/backend.js';
import { join } from 'node:path';
import { STATE_DIR } from '../pipeline/project.js';
import { removeDeadTemps } from '../util/atomic-write.js';
import type { RunReporter } from '../report/events.js';
import type { StageId } from '../pipeline/model.js';
import type { RemoteHooks } from '../remote/run-hooks.js';

export interface RunOptions {
  readonly jobs?: string;
  readonly force?: boolean;
  readonly downstream?: boolean;
  readonly single?: boolean;
  readonly dryRun?: boolean;
  readonly keepGoing?: boolean;
  readonly frozen?: boolean;
  readonly set?: string[];
  readonly wait?: boolean;
  readonly junit?: string;
  readonly backend?: string;
  readonly pull?: boolean;
  readonly push?: boolean;
  readonly remote?: string;
}

/** Checks run/watch options before anything runs: --jobs as a number (returned), --backend applied to MLPIPE_TF_BACKEND; or the diagnostic that rejects them. */
export function applyRunOptions(options: RunOptions): number | Diagnostic {
  if (options.backend !== undefined) process.env.MLPIPE_TF_BACKEND = options.backend;
  if (process.env.MLPIPE_TF_BACKEND) {
    const chosen = chooseBackend();
    if ('error' in chosen) return error('bad-option', chosen.error, undefined, { suggestion: 'omit --backend (and MLPIPE_TF_BACKEND) to use the first installed backend' });
  }
  const jobs = options.jobs === undefined ? defaultJobs() : Number(options.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) return error('bad-option', `--jobs must be a whole number of at least 1, not "${options.jobs}"`);
  return jobs;
}

export interface CycleHooks {
  /** Stages that failed with exactly this key are not retried (watch mode). */
  readonly skipFailed?: ReadonlyMap<StageId, string>;
  /** The engine of the run, while it runs (for interrupts). */
  readonly onEngine?: (engine: Engine | undefined) => void;
  /** Called with the plan before anything runs (watch mode watches it first). */
  readonly onPlanned?: (session: Session) => Promise<void>;
}

export type CycleResult =
  | { readonly kind: 'invalid'; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: 'refused'; readonly code: number }
  | { readonly kind: 'ran'; readonly code: number; readonly session: Session; readonly summary?: RunSummary };

/** The lock files a session read, as identities (inode, size, mtime): unchanged once the project lock is ours, the session is still true. */
type LockFileIdentities = ReadonlyMap<string, string>;

function lockFileIdentities(session: Session): LockFileIdentities {
  return new Map(
    session.pipelines.map((p) => {
      const path = lockPathFor(p.file.source.absPath);
      const st = statSync(path, { throwIfNoEntry: false });
      return [path, st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'missing'];
    }),
  );
}

const sameIdentities = (a: LockFileIdentities, b: LockFileIdentities) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/**
 * A run with nothing to do, found without taking the project lock (when no
 * other mlpipe holds it) and reported like a run, writing nothing: every
 * selected stage is fresh, frozen, or skipped by a condition whose recorded
 * skip is unchanged. Anything else (or --force, --frozen, --pull/--push, a
 * stage that always runs) goes the locked way, reusing the session planned
 * here when no lock file changed meanwhile (the project is analysed once).
 */
async function noOpWithoutLock(ctx: CliContext, targets: string[], options: RunOptions, mode: 'single' | 'downstream' | 'upstream', jobs: number, reporter: RunReporter): Promise<CycleResult | { session: Session; locks: LockFileIdentities } | undefined> {
  if (options.force || options.frozen || options.dryRun || options.pull || options.push) return undefined;
  const root = ctx.root();
  if (!('root' in root) || existsSync(join(root.root, STATE_DIR, 'lock'))) return undefined;
  const started = Date.now();
  const session = await openSession(ctx, { targets, mode, ...(options.set ? { sets: options.set } : {}) });
  if (Array.isArray(session)) return { kind: 'invalid', diagnostics: session };
  const locks = lockFileIdentities(session);
  // Planning stops at the first stage that is not left as it is: the run plans the rest itself.
  const records = planWhile(session.state, session.g, session.selected, { force: false, forced: session.targeted }, (r) => leftAsItIs(session, r));
  if (!records) {
    session.state.ws.forgetAssumptions(); // planning assumed restored outputs; the run sees the workspace as it is
    return { session, locks };
  }
  const runId = newRunId();
  reporter.event({ type: 'run-started', runId, stages: records.length, jobs });
  const counts: Record<string, number> = {};
  for (const r of records) {
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    reporter.event({ type: 'stage-finished', stage: r.id, outcome: r.outcome, reasons: r.reasons, ...(r.reasons[0] && r.outcome === 'condition-false' ? { message: r.reasons[0].message } : {}), ...(r.condition ? { condition: r.condition } : {}) });
  }
  flushState(session.state); // a touched file's new stat, so it is not hashed again
  reporter.event({ type: 'run-finished', runId, ok: true, counts, durationMs: Date.now() - started });
  return { kind: 'ran', code: EXIT.ok, session, summary: { runId, ok: true, stages: records } };
}

/** A stage a run would leave as it is: fresh, frozen, or skipped as its lock entry already records. */
function leftAsItIs(session: Session, r: StageRecord): boolean {
  if (r.outcome === 'fresh' || r.outcome === 'frozen') return true;
  if (r.outcome !== 'condition-false') return false;
  if (!r.condition) return true; // downstream of a skip: nothing is written for it
  const stage = session.g.index.byId.get(r.id)!;
  return session.state.locks.get(stage)?.key === stageKey(keyRecord(stage, session.state.ws, r.condition));
}

/** One run: take the project lock, plan afresh, run (or dry-run / frozen check). */
export async function runCycle(ctx: CliContext, targets: string[], options: RunOptions, jobs: number, argv: string[], reporter: RunReporter, hooks: CycleHooks = {}): Promise<CycleResult> {
  const mode = options.single ? 'single' : options.downstream ? 'downstream' : 'upstream';
  let planned: { session: Session; locks: LockFileIdentities } | undefined;
  if (!hooks.onPlanned) {
    const fast = await noOpWithoutLock(ctx, targets, options, mode, jobs, reporter);
    if (fast && 'kind' in fast) return fast;
    planned = fast;
  }
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
          return { kind: 'refused', code: EXIT.failed };
        }
        lock = r;
      } else {
        lock = await ProjectLock.acquire(stateDir, command, (h) => reporter.event({ type: 'waiting-for-lock', pid: h.pid, command: h.command }));
      }
    }
  }
  try {
    // Planned afresh after the lock is ours, so whatever another process did is
    // seen — unless the session read without the lock saw the lock files as they still are.
    const session = planned && lock && sameIdentities(planned.locks, lockFileIdentities(planned.session)) ? planned.session : await openSession(ctx, { targets, mode, ...(options.set ? { sets: options.set } : {}) });
    if (Array.isArray(session)) {
      lock?.release(true);
      lock = undefined;
      return { kind: 'invalid', diagnostics: session };
    }
    // What a kill -9 of an earlier mlpipe left half-written beside the files it writes.
    if (lock) for (const dir of ['pipelines', 'registry', join(STATE_DIR, 'index'), join(STATE_DIR, 'runs')]) removeDeadTemps(join(session.root, dir));
    await hooks.onPlanned?.(session);
    const engineOptions = { jobs, force: options.force === true, forced: session.targeted, keepGoing: options.keepGoing === true, argv, ...(hooks.skipFailed ? { skipFailed: hooks.skipFailed } : {}) };
    if (options.dryRun || options.frozen) {
      const records = options.dryRun ? plan(session.state, session.g, session.selected, engineOptions) : staleAgainstLocks(session.state, session.g, session.selected);
      if (options.dryRun || records.length > 0) {
        const counts: Record<string, number> = {};
        for (const r of records) {
          counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
          reporter.event({ type: 'stage-finished', stage: r.id, outcome: r.outcome, reasons: r.reasons });
        }
        flushState(session.state);
        const ok = options.dryRun === true;
        reporter.event({ type: 'run-finished', runId: options.dryRun ? 'dry-run' : 'frozen', ok, counts, durationMs: 0 });
        if (!ok) ctx.log(`error: --frozen: the lock files are stale for ${records.map((r) => r.id).join(', ')}; run "mlpipe run" and commit the lock files`);
        return { kind: 'ran', code: ok ? EXIT.ok : EXIT.failed, session };
      }
    }
    const remote = options.pull || options.push ? await openRunRemote(ctx, session, options, jobs) : undefined;
    if (remote && 'code' in remote) return { kind: 'refused', code: remote.code };
    const engine = new Engine(session.root, session.g, session.selected, session.state, reporter, { ...engineOptions, ...(remote ? { remote: remote.hooks } : {}) });
    hooks.onEngine?.(engine);
    try {
      const summary = await engine.run();
      const code = summary.interrupted ? (summary.interrupted === 'SIGINT' ? EXIT.sigint : EXIT.sigterm) : summary.ok ? EXIT.ok : EXIT.failed;
      return { kind: 'ran', code, session, summary };
    } finally {
      hooks.onEngine?.(undefined);
    }
  } finally {
    lock?.release();
  }
}

/** The remote of run --pull/--push, or the exit code when it cannot be used (exit 2: none configured, unknown name). */
async function openRunRemote(ctx: CliContext, session: Session, options: RunOptions, jobs: number): Promise<{ hooks: RemoteHooks } | { code: number }> {
  const { openChosenRemote, RemoteError } = await import('../remote/store.js');
  const { RemoteChoiceError } = await import('../config/config.js');
  const { remoteHooks } = await import('../remote/run-hooks.js');
  try {
    const { store, cache } = await openChosenRemote(session.root, session.state.config, session.state.store, options.remote);
    return { hooks: remoteHooks(store, cache, { pull: options.pull === true, push: options.push === true, jobs: Math.max(jobs, store.jobs), warn: (m) => ctx.log(m) }) };
  } catch (e) {
    if (e instanceof RemoteChoiceError) return { code: ctx.error(`run --${options.pull ? 'pull' : 'push'}: ${e.message}`, e.suggestion) };
    if (e instanceof RemoteError) return { code: ctx.error(e.message) };
    throw e;
  }
}

export async function runRun(ctx: CliContext, targets: string[], options: RunOptions, argv: string[]): Promise<number> {
  const jobs = applyRunOptions(options);
  if (typeof jobs !== 'number') return ctx.fail([jobs]);
  const reporter = await reportersFor(ctx, options.junit ? { junit: options.junit } : {});
  let engine: Engine | undefined;
  // Before the engine exists (waiting for the lock, planning) a signal ends the
  // process at once; a lock file it may leave is taken over as a dead holder's.
  const onSigint = () => (engine ? engine.interrupt('SIGINT') : process.exit(EXIT.sigint));
  const onSigterm = () => (engine ? engine.interrupt('SIGTERM') : process.exit(EXIT.sigterm));
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    const result = await runCycle(ctx, targets, options, jobs, argv, reporter, { onEngine: (e) => (engine = e) });
    if (result.kind === 'invalid') return ctx.fail(result.diagnostics);
    if (result.kind === 'ran' && result.summary?.stages.some((s) => s.outcome === 'ran' || s.outcome === 'restored')) {
      const { metricsChangedSinceHead } = await import('../compare/changes.js');
      const changes = await metricsChangedSinceHead(result.session.root);
      if (changes && changes.length > 0) reporter.event({ type: 'metrics-changed', against: 'HEAD', changes });
    }
    return result.code;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    reporter.close();
  }
}
