// The run: a ready-set scheduler over the selected part of the DAG. A stage is
// evaluated when everything upstream of it has finished (so its key sees the
// bytes upstream really produced — early cutoff), then left alone, restored
// from the cache, or run. Parallel up to --jobs, never oversubscribing a
// stage's cpus, gpus or mutexes. After each success the stage's outputs are
// stored and its lock entry written atomically, so an interruption keeps
// everything that finished.
//
//   pending ──ready──▶ if: false ───────────────────────────────▶ skipped (and downstream)
//                      evaluate ─┬─ fresh / frozen ─────────────▶ done
//                                ├─ restore ──ok──────────────────▶ done
//                                │          └─corrupt object──┐
//                                └─ run ◀─────────────────────┘
//                                    ├─ success → store, lock ──▶ done
//                                    └─ failure (after retries) ─▶ failed → downstream skipped
import { flushState } from './state.js';
import { mkdirSync, rmSync } from 'node:fs';
import { ensureDir, forgetDirs } from '../util/dirs.js';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { lockPathFor } from '../cache/lockfile.js';
import { randomBytes } from 'node:crypto';
import type { ContentHash } from '../cache/hash.js';
import { ignoreOutputs } from '../cache/gitignore.js';
import type { LockOut, LockState } from '../cache/lockfile.js';
import type { PathState } from '../cache/workspace.js';
import { keyRecord, lockEntryOf, lockState, recordOfLock, stageKey, type KeyRecord } from '../cache/key.js';
import { readMetricsFile } from '../compare/snapshot.js';
import type { RemoteHooks } from '../remote/run-hooks.js';
import { declaresOutputs } from './freshness.js';
import type { ProjectGraph } from '../graph/build.js';
import { edgeKey } from '../graph/build.js';
import type { Stage, StageId } from '../pipeline/model.js';
import type { RunEvent, RunReporter, StageOutcome } from '../report/events.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { OutsideRootError } from '../util/root-guard.js';
import { evaluate, explain, type FreshnessContext, type Reason, type Verdict } from './freshness.js';
import { actionCommand, actionRequest, pipelineParams, type ActionRequest } from '../actions/launch.js';
import { updatesOf } from '../actions/registry.js';
import { pruneHistory } from './history.js';
import { runShell, type ShellOptions } from './shell.js';
import { runAction } from './action-runners.js';
import { conditionFalseReason, evaluateStageCondition, pendingConditionSources, skipReaches, skippedUpstreamReason } from './conditions.js';
import type { ConditionRecord } from '../pipeline/condition.js';
import type { ProjectState } from './state.js';

export interface EngineOptions {
  readonly jobs: number;
  readonly force: boolean;
  /** Stages --force applies to (the targets); all selected stages when empty. */
  readonly forced: ReadonlySet<StageId>;
  readonly keepGoing: boolean;
  readonly argv: readonly string[];
  /** Watch mode: a stage that failed with exactly this key is not retried until an input changes. */
  readonly skipFailed?: ReadonlyMap<StageId, string>;
  /** exp run: one pool of capacity and one table of running keys for all its experiments. */
  readonly shared?: SharedScheduling;
  /** exp run: run records and logs go under this state directory (the project's), not the working copy's (which is thrown away). */
  readonly historyDir?: string;
  /** exp run: the experiment this engine runs, named in its run record. */
  readonly experiment?: string;
  /** run --pull / --push: the remote cache to consult before running and to upload to after. */
  readonly remote?: RemoteHooks;
}

export interface StageRecord {
  id: StageId;
  outcome: StageOutcome;
  reasons: readonly Reason[];
  key?: string;
  durationMs?: number;
  exitCode?: number;
  message?: string;
  /** The param values the stage's result comes from (file → key → value), for comparing runs. */
  params?: Record<string, Record<string, unknown>>;
  /** The numbers in its metrics outputs (file → dotted key → number). */
  metrics?: Record<string, Record<string, number>>;
  /** A stage with `if:`: what its condition read and came to. */
  condition?: ConditionRecord;
}

export interface RunSummary {
  readonly runId: string;
  readonly ok: boolean;
  readonly interrupted?: NodeJS.Signals;
  readonly stages: StageRecord[];
}

export function defaultJobs(): number {
  return Math.max(1, cpus().length);
}

export function newRunId(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${randomBytes(3).toString('hex')}`;
}

/** Which upstream stage produced a dep path of `stage`, from the graph's edge reasons. */
export function producerLookup(g: ProjectGraph, stage: Stage): (path: string) => StageId | undefined {
  return (path) => {
    for (const pred of g.graph.predecessors(stage.id) ?? []) {
      const reasons = g.reasons.get(edgeKey(pred, stage.id)) ?? [];
      if (reasons.some((r) => r.kind === 'path' && r.dep.path === path)) return pred as StageId;
    }
    return undefined;
  };
}

function freshnessContext(state: ProjectState, g: ProjectGraph, stage: Stage, verifyObjects = false): FreshnessContext {
  return { ws: state.ws, store: state.store, runCache: state.runCache, producerOf: producerLookup(g, stage), verifyObjects };
}

/**
 * The verdict for one stage now; --force applies to the targets (or
 * everything without targets). `planning`: nothing will be restored now, so
 * the objects a restore would use are verified here instead.
 */
export function decide(state: ProjectState, g: ProjectGraph, stage: Stage, options: Pick<EngineOptions, 'force' | 'forced'>, planning = false, condition?: ConditionRecord): Verdict {
  const forced = options.force && (options.forced.size === 0 || options.forced.has(stage.id));
  return evaluate(stage, state.locks.get(stage), freshnessContext(state, g, stage, planning), forced, condition);
}

/**
 * What a run would do, without doing it: each selected stage's verdict in
 * topological order. A stage downstream of one that would run is reported as
 * waiting on it, since its inputs may change.
 */
export function plan(state: ProjectState, g: ProjectGraph, selected: readonly StageId[], options: Pick<EngineOptions, 'force' | 'forced'>): StageRecord[] {
  return planWhile(state, g, selected, options, () => true)!;
}

/** The plan, stage by stage, as long as `keep` accepts each record; undefined at the first it does not. */
export function planWhile(state: ProjectState, g: ProjectGraph, selected: readonly StageId[], options: Pick<EngineOptions, 'force' | 'forced'>, keep: (record: StageRecord) => boolean): StageRecord[] | undefined {
  const chosen = new Set(selected);
  const changing = new Set<StageId>();
  const skipping = new Set<StageId>();
  const records: StageRecord[] = [];
  const planOne = (id: StageId): StageRecord => {
    const stage = g.index.byId.get(id)!;
    const skippedUp = (g.graph.predecessors(id) ?? []).find((p) => skipping.has(p as StageId) && skipReaches(g, p, id)) as StageId | undefined;
    if (skippedUp) {
      skipping.add(id);
      return { id, outcome: 'condition-false', reasons: [skippedUpstreamReason(skippedUp)] };
    }
    let condition: ConditionRecord | undefined;
    if (stage.condition && !stage.frozen) {
      const pending = pendingConditionSources(g, stage, changing);
      if (pending.length > 0) {
        // Decided once those have run: it may run (and so may its downstream).
        changing.add(id);
        return { id, outcome: 'would-run', reasons: [{ kind: 'condition', message: `if ${stage.condition.text}: decided after ${pending.join(', ')} ${pending.length > 1 ? 'run' : 'runs'}` }] };
      }
      const c = evaluateStageCondition(g, state.ws, state.guard, stage);
      if ('error' in c) {
        changing.add(id);
        return { id, outcome: 'would-run', reasons: [{ kind: 'condition', message: c.error }] };
      }
      if (!c.record.result) {
        skipping.add(id);
        return { id, outcome: 'condition-false', reasons: [conditionFalseReason(c.record)], condition: c.record };
      }
      condition = c.record;
    }
    const verdict = decide(state, g, stage, options, true, condition);
    const ups = (g.graph.predecessors(id) ?? []).filter((p) => chosen.has(p as StageId) && changing.has(p as StageId));
    const upstream: Reason[] = ups.map((u) => ({ kind: 'upstream', message: `upstream ${u} is stale` }));
    switch (verdict.action) {
      case 'frozen':
        return { id, outcome: 'frozen', reasons: verdict.reasons };
      case 'fresh':
        if (upstream.length === 0) return { id, outcome: 'fresh', reasons: [], key: verdict.key };
        changing.add(id);
        return { id, outcome: 'would-run', reasons: upstream };
      case 'restore':
        // Restoring what the lock records changes nothing downstream sees; a run-cache hit does.
        if (verdict.source === 'run-cache' || upstream.length > 0) changing.add(id);
        assumeOutputs(state, verdict.outs);
        return { id, outcome: upstream.length > 0 ? 'would-run' : 'would-restore', reasons: [...verdict.reasons, ...upstream], key: verdict.key };
      case 'run':
        changing.add(id);
        return { id, outcome: 'would-run', reasons: [...verdict.reasons, ...upstream], key: verdict.key };
    }
  };
  for (const id of selected) {
    const record = planOne(id);
    if (!keep(record)) return undefined;
    records.push(record);
  }
  return records;
}

/**
 * `run --frozen`: the stages whose lock entry does not match what their
 * definition, params and deps are now — the lock files a commit forgot. Outputs
 * may be absent (a fresh clone): an up-to-date stage's outputs are taken to be
 * what its lock records, so its downstream is judged against those.
 */
export function staleAgainstLocks(state: ProjectState, g: ProjectGraph, selected: readonly StageId[]): StageRecord[] {
  const stale: StageRecord[] = [];
  const skipping = new Set<StageId>();
  for (const id of selected) {
    const stage = g.index.byId.get(id)!;
    if (stage.frozen) continue;
    // Downstream of a skipped stage: skipped too, its lock entry left as it was.
    if ((g.graph.predecessors(id) ?? []).some((p) => skipping.has(p as StageId) && skipReaches(g, p, id))) {
      skipping.add(id);
      continue;
    }
    const entry = state.locks.get(stage);
    // A condition is judged on the metrics in the workspace, or (a fresh clone without them) on the values the lock recorded.
    let condition: ConditionRecord | undefined;
    if (stage.condition) {
      const c = evaluateStageCondition(g, state.ws, state.guard, stage);
      condition = 'record' in c ? c.record : entry?.if;
      if (condition && !condition.result) skipping.add(id);
    }
    const record = keyRecord(stage, state.ws, condition);
    if (!entry || entry.key !== stageKey(record)) {
      const reasons = entry ? explain(recordOfLock(entry, record.outs), record, freshnessContext(state, g, stage)) : [{ kind: 'never-run', message: 'never run' }];
      stale.push({ id, outcome: 'would-run', reasons: reasons.length > 0 ? reasons : [{ kind: 'format', message: 'key format changed' }] });
    }
    if (entry) assumeOutputs(state, entry.outs);
  }
  state.ws.forgetAssumptions();
  return stale;
}

/** Plans as if these outputs were in the workspace (they would be after a restore). */
function assumeOutputs(state: ProjectState, outs: Readonly<Record<string, LockOut>>): void {
  for (const [path, out] of Object.entries(outs)) {
    if (out.files === undefined) {
      state.ws.assume(path, { kind: 'file', hash: out.hash as ContentHash, size: out.size });
      continue;
    }
    const manifest = state.store.readManifest(out.hash as ContentHash);
    if (manifest) state.ws.assume(path, { kind: 'dir', hash: out.hash as ContentHash, size: out.size, manifest });
    else {
      // No cache (a fresh clone): the lock's file count, and the paths inside that other stages read.
      const inner = new Map(Object.entries(out.inner ?? {}).map(([rel, s]): [string, PathState] => [rel, s.files === undefined ? { kind: 'file', hash: s.hash as ContentHash, size: s.size } : { kind: 'dir', hash: s.hash as ContentHash, size: s.size, manifest: [], files: s.files, inner: new Map() }]));
      state.ws.assume(path, { kind: 'dir', hash: out.hash as ContentHash, size: out.size, manifest: [], files: out.files, inner });
    }
  }
}

/** Capacity accounting for --jobs, gpus and mutexes; shared by the engines of one `exp run`. */
export class Resources {
  private slots: number;
  private gpus: number;
  private readonly mutexes = new Set<string>();
  private waiters: (() => void)[] = [];

  constructor(
    private readonly jobs: number,
    private readonly gpuCapacity: number,
  ) {
    this.slots = jobs;
    this.gpus = gpuCapacity;
  }

  /**
   * The slots a stage needs: at least `min` (its cpus, at most --jobs), and it
   * takes up to `max` when free — only mlpipe/tune without declared cpus,
   * which trains as many trials at once as it is given (results never depend
   * on how many).
   */
  private need(s: Stage) {
    const elastic = s.resources.cpus === Number.POSITIVE_INFINITY;
    const fixed = Math.min(this.jobs, Math.max(1, Math.ceil(s.resources.cpus)));
    return { min: elastic ? 1 : fixed, max: fixed, gpus: Math.min(this.gpuCapacity, s.resources.gpus) };
  }

  fits(s: Stage): boolean {
    const n = this.need(s);
    return n.min <= this.slots && n.gpus <= this.gpus && s.resources.mutex.every((m) => !this.mutexes.has(m));
  }

  /** Takes what the stage needs; the number of slots it got. */
  take(s: Stage): number {
    const n = this.need(s);
    const slots = Math.min(n.max, this.slots);
    this.slots -= slots;
    this.gpus -= n.gpus;
    for (const m of s.resources.mutex) this.mutexes.add(m);
    return slots;
  }

  give(s: Stage, slots: number): void {
    const n = this.need(s);
    this.slots += slots;
    this.gpus += n.gpus;
    for (const m of s.resources.mutex) this.mutexes.delete(m);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves the next time capacity is given back (by any engine sharing it). */
  freed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Stage keys being executed now, across the engines of one `exp run`: a stage
 * whose key another experiment is already running waits for that run and is
 * then restored from the run-cache instead of running twice.
 */
export class KeyGate {
  private readonly running = new Map<string, Promise<void>>();

  /** Undefined when the key is free (and now taken by the caller); else a promise of its release. */
  take(key: string, done: Promise<void>): Promise<void> | undefined {
    const other = this.running.get(key);
    if (other) return other;
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.running.set(key, settled);
    void settled.then(() => {
      if (this.running.get(key) === settled) this.running.delete(key);
    });
    return undefined;
  }
}

/** What the engines of one `exp run` share. */
export interface SharedScheduling {
  readonly resources: Resources;
  readonly gate: KeyGate;
}

export class Engine {
  readonly runId = newRunId();
  private readonly records = new Map<StageId, StageRecord>();
  private readonly abort = new AbortController();
  /** Running stages' own abort controllers, and why a stage was cancelled. */
  private readonly stageAborts = new Map<StageId, AbortController>();
  private readonly cancelled = new Map<StageId, string>();
  private interrupted: NodeJS.Signals | undefined;
  private stopping = false;
  private readonly logDir: string;
  /** Cached outputs to add to .gitignore, written once at the end of the run. */
  private readonly toIgnore: { path: string; isDir: boolean }[] = [];

  constructor(
    private readonly root: string,
    private readonly g: ProjectGraph,
    private readonly selected: readonly StageId[],
    private readonly state: ProjectState,
    private readonly reporter: RunReporter,
    private readonly options: EngineOptions,
  ) {
    this.logDir = join(options.historyDir ?? state.stateDir, 'logs', this.runId);
  }

  private readonly params = new Map<string, Record<string, unknown>>();

  /** The param values of a pipeline's stages, for the records built-in actions write. */
  private paramsOf(pipeline: string): Record<string, unknown> {
    let p = this.params.get(pipeline);
    if (!p) this.params.set(pipeline, (p = pipelineParams([...this.g.index.byId.values()].filter((s) => s.pipeline === pipeline))));
    return p;
  }

  /** For each dep another stage produced: that stage and the key of its lock entry (provenance for actions' records). */
  private upstreamOf(stage: Stage): Record<string, { stage: string; key: string }> {
    const upstream: Record<string, { stage: string; key: string }> = {};
    for (const pred of this.g.graph.predecessors(stage.id) ?? []) {
      const entry = this.state.locks.get(this.stage(pred as StageId));
      if (!entry) continue;
      for (const r of this.g.reasons.get(edgeKey(pred, stage.id)) ?? []) if (r.kind === 'path') upstream[r.dep.path] = { stage: pred, key: entry.key };
    }
    return upstream;
  }

  /** The paths inside a directory output that downstream stages read (relative to it), with their states now. */
  private innerReads(stage: Stage, dir: string): Record<string, LockState> {
    const inner: Record<string, LockState> = {};
    for (const next of this.g.graph.successors(stage.id) ?? []) {
      for (const r of this.g.reasons.get(edgeKey(stage.id, next)) ?? []) {
        if (r.kind !== 'path' || r.out.path !== dir || r.dep.glob || !r.dep.path.startsWith(`${dir}/`)) continue;
        const s = lockState(this.state.ws.state(r.dep.path));
        if (s) inner[r.dep.path.slice(dir.length + 1)] = s;
      }
    }
    return inner;
  }

  private generated: string[] | undefined;

  /** Every path runs write: stage outputs and lock files (register does not count them as uncommitted inputs). */
  private generatedPaths(): string[] {
    if (!this.generated) {
      const paths = new Set<string>();
      for (const s of this.g.index.byId.values()) {
        for (const o of s.outs) paths.add(o.path);
        paths.add(relative(this.root, lockPathFor(s.loc.file.absPath)).split('\\').join('/'));
      }
      this.generated = [...paths].sort();
    }
    return this.generated;
  }

  stage(id: StageId): Stage {
    return this.g.index.byId.get(id)!;
  }

  /**
   * What the run record keeps of a stage that has a result: its params, and
   * (when it ran or was restored, not on a no-op) the numbers of its metrics files.
   */
  private provenance(stage: Stage, record: KeyRecord, withMetrics = true): Pick<StageRecord, 'params' | 'metrics'> {
    const metrics: Record<string, Record<string, number>> = {};
    if (withMetrics) for (const out of stage.outs) {
      if (out.role !== 'metrics' || out.isDir) continue;
      const values = readMetricsFile(this.state.ws.abs(out.path));
      if (values) metrics[out.path] = values;
    }
    return { ...(Object.keys(record.params).length > 0 ? { params: record.params } : {}), ...(Object.keys(metrics).length > 0 ? { metrics } : {}), ...(record.if ? { condition: record.if } : {}) };
  }

  private emit(e: RunEvent): void {
    this.reporter.event(e);
  }

  private finish(id: StageId, outcome: StageOutcome, reasons: readonly Reason[], extra: Partial<StageRecord> & { tail?: readonly string[]; log?: string } = {}): void {
    const { tail, log, ...rest } = extra;
    this.records.set(id, { id, outcome, reasons, ...rest });
    if (this.options.remote?.push && (outcome === 'ran' || outcome === 'restored' || outcome === 'fresh')) {
      const entry = this.state.locks.get(this.stage(id));
      if (entry) this.options.remote.push(entry);
    }
    this.emit({
      type: 'stage-finished',
      stage: id,
      outcome,
      reasons,
      ...(rest.durationMs !== undefined ? { durationMs: rest.durationMs } : {}),
      ...(rest.message !== undefined ? { message: rest.message } : {}),
      ...(tail ? { tail } : {}),
      ...(log ? { log } : {}),
      ...(outcome === 'failed' ? { definedAt: this.definedAt(id) } : {}),
      ...(rest.condition ? { condition: rest.condition } : {}),
    });
  }

  /** Where a stage is declared, for annotations on failures. */
  private definedAt(id: StageId): { file: string; line: number } {
    const loc = this.stage(id).loc;
    return { file: loc.file.path, line: loc.file.position(loc.start).line };
  }

  /** Ctrl-C / SIGTERM: stop starting stages, kill the running ones (their whole groups). */
  interrupt(signal: NodeJS.Signals): void {
    if (this.interrupted) return;
    this.interrupted = signal;
    this.stopping = true;
    this.abort.abort();
  }

  /** Kills these stages if they are running (watch mode: an interruptible stage's inputs changed). */
  cancel(ids: Iterable<StageId>, why: string): void {
    for (const id of ids) {
      const controller = this.stageAborts.get(id);
      if (!controller) continue;
      this.cancelled.set(id, why);
      controller.abort();
    }
  }

  /** The stages running now. */
  runningStages(): StageId[] {
    return [...this.stageAborts.keys()];
  }

  async run(): Promise<RunSummary> {
    const started = Date.now();
    this.emit({ type: 'run-started', runId: this.runId, stages: this.selected.length, jobs: this.options.jobs });
    // Kahn's algorithm over the selection: a count of unfinished upstream
    // stages each, and a ready list kept in topological order.
    const rank = new Map(this.selected.map((id, i) => [id, i]));
    const within = (ids: string[] | void) => (ids ?? []).filter((x) => rank.has(x as StageId)) as StageId[];
    const waiting = new Map(this.selected.map((id) => [id, within(this.g.graph.predecessors(id)).length]));
    const ready: StageId[] = this.selected.filter((id) => waiting.get(id) === 0);
    /** Inserts keeping topological order, so -j 1 runs stages in plan order. */
    const insertByRank = <T>(list: T[], item: T, idOf: (t: T) => StageId) => {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rank.get(idOf(list[mid]!))! < rank.get(idOf(item))!) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, item);
    };
    const makeReady = (id: StageId) => insertByRank(ready, id, (x) => x);
    /** After a stage's outcome is recorded: release or skip what waits on it (iteratively: chains can be 10,000 deep). */
    const settled = (first: StageId): void => {
      const todo = [first];
      while (todo.length > 0) {
        const id = todo.pop()!;
        const outcome = this.records.get(id)!.outcome;
        const failed = outcome === 'failed' || outcome === 'skipped';
        for (const next of within(this.g.graph.successors(id))) {
          if (this.records.has(next)) continue;
          if (outcome === 'condition-false' && skipReaches(this.g, id, next)) {
            const reason = skippedUpstreamReason(id);
            this.finish(next, 'condition-false', [reason], { message: reason.message });
            todo.push(next);
          } else if (failed) {
            const why = `upstream ${id} ${outcome}`;
            this.finish(next, 'skipped', [{ kind: 'upstream', message: why }], { message: why });
            todo.push(next);
          } else {
            const left = waiting.get(next)! - 1;
            waiting.set(next, left);
            if (left === 0) makeReady(next);
          }
        }
      }
    };
    const queued: { stage: Stage; verdict: Extract<Verdict, { action: 'run' }> }[] = [];
    const running = new Map<StageId, Promise<void>>();
    const resources = this.options.shared?.resources ?? new Resources(this.options.jobs, Math.max(1, Number(process.env.MLPIPE_GPUS ?? 1)));
    const gate = this.options.shared?.gate;
    /** Stages waiting for another experiment running the same key: decided again once it is done. */
    const parked = new Map<StageId, Promise<void>>();

    for (;;) {
      while (ready.length > 0 && !this.stopping) {
        const stage = this.stage(ready.shift()!);
        let condition: ConditionRecord | undefined;
        if (stage.condition && !stage.frozen) {
          const c = evaluateStageCondition(this.g, this.state.ws, this.state.guard, stage);
          if ('error' in c) {
            this.finish(stage.id, 'failed', [{ kind: 'condition', message: c.error }], { message: c.error });
            this.stopIfNeeded();
            settled(stage.id);
            continue;
          }
          if (!c.record.result) {
            this.skipByCondition(stage, c.record);
            settled(stage.id);
            continue;
          }
          condition = c.record;
        }
        let verdict = this.decide(stage, condition);
        if (verdict.action !== 'run') {
          const fallback = this.settleWithoutRunning(stage, verdict);
          if (!fallback) {
            settled(stage.id);
            continue;
          }
          verdict = fallback;
        }
        if (this.options.skipFailed?.get(stage.id) === verdict.key) {
          const why = 'failed before with these same inputs; waiting for one of them to change';
          this.finish(stage.id, 'skipped', verdict.reasons, { key: verdict.key, message: why });
          settled(stage.id);
          continue;
        }
        insertByRank(queued, { stage, verdict }, (q) => q.stage.id);
        this.emit({ type: 'stage-queued', stage: stage.id, reasons: verdict.reasons });
      }
      while (!this.stopping) {
        const i = queued.findIndex((q) => resources.fits(q.stage));
        if (i === -1) break;
        const { stage, verdict } = queued.splice(i, 1)[0]!;
        let finishExecution!: () => void;
        const executed = new Promise<void>((resolve) => (finishExecution = resolve));
        const other = gate?.take(verdict.key, executed);
        if (other) {
          // Another experiment runs this very key: decide again when it is done (a run-cache hit then).
          parked.set(stage.id, other.then(() => {
            parked.delete(stage.id);
            makeReady(stage.id);
          }));
          continue;
        }
        const slots = resources.take(stage);
        let released = false;
        // The slot is free once the command exits; storing outputs needs no CPU slot.
        const release = () => {
          if (!released) resources.give(stage, slots);
          released = true;
        };
        running.set(
          stage.id,
          this.execute(stage, verdict, release, slots).finally(() => {
            release();
            finishExecution();
            running.delete(stage.id);
            settled(stage.id);
          }),
        );
      }
      if (running.size === 0 && parked.size === 0 && (queued.length === 0 || this.stopping)) break;
      // With shared capacity, another experiment's engine may free what a queued stage waits for.
      await Promise.race([...running.values(), ...parked.values(), ...(queued.length > 0 && this.options.shared ? [resources.freed()] : [])]);
    }

    // Whatever never started: stopped by a failure (without --keep-going) or an interruption.
    const why = this.interrupted ? 'interrupted' : 'an earlier stage failed';
    for (const id of this.selected) if (!this.records.has(id)) this.finish(id, 'skipped', [{ kind: this.interrupted ? 'interrupted' : 'upstream', message: why }], { message: why });
    const stages = this.selected.map((id) => this.records.get(id)!);
    const ok = !this.interrupted && stages.every((s) => s.outcome !== 'failed' && s.outcome !== 'skipped');
    const counts: Record<string, number> = {};
    for (const s of stages) counts[s.outcome] = (counts[s.outcome] ?? 0) + 1;
    await this.options.remote?.settle();
    await this.state.locks.settle();
    flushState(this.state);
    ignoreOutputs(this.root, this.toIgnore);
    // A run that changed nothing leaves no record (an experiment's run always does: it names the experiment).
    const changedNothing = stages.every((s) => s.outcome === 'fresh' || s.outcome === 'frozen' || s.outcome === 'condition-false') && !this.state.locks.changed;
    if (!changedNothing || this.options.experiment) this.writeRecord(started, ok, stages);
    this.emit({ type: 'run-finished', runId: this.runId, ok, counts, durationMs: Date.now() - started, ...(this.interrupted ? { interrupted: this.interrupted } : {}) });
    return { runId: this.runId, ok, ...(this.interrupted ? { interrupted: this.interrupted } : {}), stages };
  }

  private decide(stage: Stage, condition?: ConditionRecord): Verdict {
    return decide(this.state, this.g, stage, this.options, false, condition);
  }

  /**
   * A stage whose condition is false: nothing runs, and the lock records the
   * skip (its key covers the values the condition read, so an unchanged skip
   * writes nothing). Outputs of an earlier run stay where they are.
   */
  private skipByCondition(stage: Stage, condition: ConditionRecord): void {
    const record = keyRecord(stage, this.state.ws, condition);
    const key = stageKey(record);
    if (this.state.locks.get(stage)?.key !== key) this.state.locks.set(stage, lockEntryOf(key, record, {}), true);
    const reason = conditionFalseReason(condition);
    this.finish(stage.id, 'condition-false', [reason], { key, message: reason.message, condition, ...this.provenance(stage, record, false) });
  }

  /** Settles a stage that needs no command; returns a run verdict when a restore turns out impossible. */
  private settleWithoutRunning(stage: Stage, verdict: Exclude<Verdict, { action: 'run' }>): Extract<Verdict, { action: 'run' }> | undefined {
    switch (verdict.action) {
      case 'fresh':
        this.finish(stage.id, 'fresh', [], { key: verdict.key, ...this.provenance(stage, verdict.record, false) });
        return undefined;
      case 'frozen':
        this.finish(stage.id, 'frozen', verdict.reasons);
        return undefined;
      case 'restore': {
        let restored: boolean;
        try {
          restored = this.restoreOutputs(stage, verdict.outs);
        } catch (e) {
          if (!(e instanceof OutsideRootError)) throw e;
          this.finish(stage.id, 'failed', verdict.reasons, { message: `could not restore outputs: ${e.message}` });
          this.stopIfNeeded();
          return undefined;
        }
        if (restored) {
          if (verdict.source === 'run-cache') this.state.locks.set(stage, lockEntryOf(verdict.key, verdict.record, verdict.outs));
          const message = verdict.source === 'run-cache' ? `ran before with these inputs; ${verdict.reasons.map((r) => r.message).join('; ')}` : verdict.reasons.map((r) => r.message).join('; ');
          this.finish(stage.id, 'restored', verdict.reasons, { key: verdict.key, message, ...this.provenance(stage, verdict.record) });
          return undefined;
        }
        // A missing or corrupt object: run after all.
        const corrupt = this.state.store.corrupt.length > 0 ? ` (corrupt cache object${this.state.store.corrupt.length > 1 ? 's' : ''} ${this.state.store.corrupt.join(', ')} discarded)` : '';
        const reasons = [...verdict.reasons, { kind: 'cache', message: `cache could not restore the outputs${corrupt}` }];
        return { action: 'run', key: verdict.key, record: verdict.record, reasons };
      }
    }
    return undefined;
  }

  private restoreOutputs(stage: Stage, outs: Readonly<Record<string, LockOut>>): boolean {
    const { ws, store } = this.state;
    for (const [path, out] of Object.entries(outs)) {
      const s = ws.state(path);
      if (s.kind !== 'missing' && s.hash === out.hash) continue;
      if (!store.restore(out.hash as ContentHash, out.files !== undefined, ws.abs(path))) return false;
      ws.invalidate(path);
    }
    this.toIgnore.push(...stage.outs.filter((o) => o.cache));
    return true;
  }

  /** Before a run: keep the current outputs in the cache, then clear them (unless persist). */
  private async prepareOutputs(stage: Stage): Promise<void> {
    const { ws, store } = this.state;
    for (const out of stage.outs) {
      const abs = ws.abs(out.path);
      this.state.guard.checkParent(abs);
      // Kept in the cache, unless it is a link out of the project (whose target is not ours to read).
      if (!this.state.guard.escapes(abs)) {
        const s = ws.state(out.path);
        if (s.kind !== 'missing') await store.putState(abs, s);
      }
      if (!out.persist) {
        rmSync(abs, { recursive: true, force: true });
        forgetDirs(abs);
      }
      ensureDir(dirname(abs));
      ws.invalidate(out.path);
    }
  }

  private async execute(stage: Stage, verdict: Extract<Verdict, { action: 'run' }>, release: () => void, slots: number): Promise<void> {
    const started = Date.now();
    const logFile = join(this.logDir, `${stage.id.replace(/[^A-Za-z0-9_.@-]/g, '_')}.log`);
    const logShown = logFile.startsWith(this.root) ? logFile.slice(this.root.length + 1) : logFile;
    ensureDir(this.logDir);
    if (this.options.remote?.pull && (await this.pulled(stage, verdict, started))) return;
    const request = stage.cmd ? undefined : actionRequest(stage, this.root, this.paramsOf(stage.pipeline), this.upstreamOf(stage), slots, () => this.generatedPaths());
    // A built-in action runs in a warm runner, or (MLPIPE_ACTION_RUNNER=process) as a command of its own.
    const warm = request && process.env.MLPIPE_ACTION_RUNNER !== 'process' ? request : undefined;
    const commands = stage.cmd ? stage.cmd.map((c) => c.value) : warm ? [] : [actionCommand(request!, logFile.replace(/\.log$/, '.action.json'))];
    try {
      await this.prepareOutputs(stage);
    } catch (e) {
      this.finish(stage.id, 'failed', verdict.reasons, { key: verdict.key, message: `could not prepare outputs: ${(e as Error).message}`, durationMs: Date.now() - started });
      this.stopIfNeeded();
      return;
    }
    const attempts = 1 + stage.retries;
    const stageAbort = new AbortController();
    this.stageAborts.set(stage.id, stageAbort);
    const signal = AbortSignal.any([this.abort.signal, stageAbort.signal]);
    try {
      return await this.attempts(stage, verdict, release, { commands, warm, started, logFile, logShown, attempts, signal });
    } finally {
      this.stageAborts.delete(stage.id);
    }
  }

  /**
   * run --pull: the remote's record of this key, its outputs verified into the
   * local cache, restored instead of running. False: the stage runs.
   */
  private async pulled(stage: Stage, verdict: Extract<Verdict, { action: 'run' }>, started: number): Promise<boolean> {
    const entry = await this.options.remote!.pull!(verdict.key);
    // Only a record of exactly the outputs this stage declares is used, as with the local run-cache.
    if (!entry || !declaresOutputs(entry.outs, verdict.record.outs)) return false;
    let restored: boolean;
    try {
      restored = this.restoreOutputs(stage, entry.outs);
    } catch (e) {
      if (!(e instanceof OutsideRootError)) throw e;
      return false;
    }
    if (!restored) return false;
    const local = lockEntryOf(verdict.key, verdict.record, entry.outs);
    await this.state.runCache.put(local);
    this.state.locks.set(stage, local);
    this.finish(stage.id, 'restored', verdict.reasons, { key: verdict.key, message: `pulled from remote ${this.options.remote!.name}; ${verdict.reasons.map((r) => r.message).join('; ')}`, durationMs: Date.now() - started, ...this.provenance(stage, verdict.record) });
    return true;
  }

  private async attempts(
    stage: Stage,
    verdict: Extract<Verdict, { action: 'run' }>,
    release: () => void,
    { commands, warm, started, logFile, logShown, attempts, signal }: { commands: readonly string[]; warm: ActionRequest | undefined; started: number; logFile: string; logShown: string; attempts: number; signal: AbortSignal },
  ): Promise<void> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.emit({ type: 'stage-started', stage: stage.id, reasons: verdict.reasons, attempt });
      const options: ShellOptions = {
        cwd: this.state.ws.abs(stage.wdir === '.' ? '' : stage.wdir),
        env: { ...stage.env, MLPIPE_STAGE: stage.id, MLPIPE_RUN_ID: this.runId },
        ...(stage.timeoutMs !== undefined ? { timeoutMs: stage.timeoutMs } : {}),
        logFile,
        onLine: (line) => this.emit({ type: 'stage-output', stage: stage.id, line }),
        signal,
      };
      const result = warm ? await runAction(warm, options) : await runShell(commands, options);
      if (result.ok) {
        release();
        const missing = await this.finalize(stage, verdict);
        if (missing) {
          this.finish(stage.id, 'failed', verdict.reasons, { key: verdict.key, message: missing, durationMs: Date.now() - started, log: logShown, tail: result.tail });
          this.stopIfNeeded();
        } else this.finish(stage.id, 'ran', verdict.reasons, { key: verdict.key, durationMs: Date.now() - started, ...this.provenance(stage, verdict.record) });
        return;
      }
      if (result.interrupted) {
        const why = this.cancelled.get(stage.id) ?? 'interrupted';
        this.finish(stage.id, 'failed', verdict.reasons, { message: why, durationMs: Date.now() - started, log: logShown });
        return;
      }
      if (attempt < attempts && !this.stopping) continue;
      const what = result.error
        ? result.error
        : result.timedOut
        ? `timed out after ${stage.timeoutMs}ms`
        : result.signal
          ? `killed by ${result.signal}`
          : `exit code ${result.exitCode}`;
      this.finish(stage.id, 'failed', verdict.reasons, { key: verdict.key,
        message: `${what}${commands.length > 1 ? ` in "${result.command}"` : ''}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
        durationMs: Date.now() - started,
        ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
        tail: result.tail.slice(-10),
        log: logShown,
      });
      this.stopIfNeeded();
      return;
    }
  }

  private stopIfNeeded(): void {
    if (!this.options.keepGoing) this.stopping = true;
  }

  /** After a successful command: check, hash and store outputs, write the lock entry. Returns a failure message. */
  private async finalize(stage: Stage, verdict: Extract<Verdict, { action: 'run' }>): Promise<string | undefined> {
    const { ws, store } = this.state;
    const outs: Record<string, LockOut> = {};
    const states = [];
    for (const path of updatesOf(stage)) ws.invalidate(path);
    for (const out of stage.outs) {
      ws.invalidate(out.path);
      try {
        this.state.guard.checkTarget(ws.abs(out.path));
      } catch (e) {
        if (e instanceof OutsideRootError) return `output ${e.message}`;
        throw e;
      }
      const s = ws.state(out.path);
      if (s.kind === 'missing') return `did not create its declared output "${out.path}"`;
      states.push({ out, s });
      const inner = s.kind === 'dir' ? this.innerReads(stage, out.path) : {};
      outs[out.path] = { ...lockState(s)!, cache: out.cache, ...(out.role !== 'out' ? { role: out.role } : {}), ...(Object.keys(inner).length > 0 ? { inner } : {}) };
    }
    // Objects first, then the run-cache entry that points at them, then the
    // lock entry once the objects are on disk.
    for (const { out, s } of states) await store.putState(ws.abs(out.path), s);
    const entry = lockEntryOf(verdict.key, verdict.record, outs);
    await this.state.runCache.put(entry);
    this.state.locks.set(stage, entry, true);
    this.toIgnore.push(...stage.outs.filter((o) => o.cache));
    return undefined;
  }

  private writeRecord(started: number, ok: boolean, stages: StageRecord[]): void {
    const dir = join(this.options.historyDir ?? this.state.stateDir, 'runs');
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(
      join(dir, `${this.runId}.json`),
      `${JSON.stringify({ id: this.runId, argv: this.options.argv, ...(this.options.experiment ? { experiment: this.options.experiment } : {}), started: new Date(started).toISOString(), finished: new Date().toISOString(), ok, ...(this.interrupted ? { interrupted: this.interrupted } : {}), stages }, null, 2)}\n`,
    );
    pruneHistory(this.options.historyDir ?? this.state.stateDir);
    // A long watch session runs thousands of times: do not remember every run's log directory.
    forgetDirs(this.logDir);
  }
}
