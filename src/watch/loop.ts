// Watch mode's state machine (Wireit's semantics). The watcher only triggers;
// each run plans afresh and the keys decide what runs, so saving a file
// without changing its bytes runs nothing.
//
//   running ──change──▶ queued ──run ends──▶ debouncing
//      │ (an interruptible stage whose own inputs changed is killed now)
//      └──run ends──▶ watching ──change──▶ debouncing ──quiet for DEBOUNCE──▶ running
//                                              └──change──▶ debouncing (timer restarts)
//
// A change during a run queues exactly one more run. chokidar drops a second
// change event of one file within 50 ms of the first; a debounce of at least
// that long makes sure such a change happened before the run that the first
// event started. An invalid pipeline
// prints its diagnostics and keeps watching; a failure never ends watch mode,
// and a stage that failed is not retried until one of its inputs changes (its
// key differs). What is watched is recomputed after every run.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { StageId } from '../pipeline/model.js';
import type { CycleResult } from '../cli/run.js';
import type { Engine } from '../run/engine.js';
import type { RunReporter } from '../report/events.js';
import type { WatchSet } from './watch-set.js';

export type WatchState = 'running' | 'queued' | 'watching' | 'debouncing' | 'stopped';

export interface WatchLoopDeps {
  /**
   * One run, reporting through the reporter. It calls `watch` with what to
   * watch as soon as the plan is known (before anything runs, so changes made
   * during the run are seen), or, for an invalid pipeline, after.
   */
  readonly runOnce: (hooks: { skipFailed: ReadonlyMap<StageId, string>; onEngine: (e: Engine | undefined) => void; watch: (set: WatchSet) => Promise<void> }) => Promise<CycleResult>;
  readonly reporter: RunReporter;
  readonly debounceMs: number;
}

export class WatchLoop {
  private state: WatchState = 'running';
  private watcher: FSWatcher | undefined;
  private set: WatchSet | undefined;
  private watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new Set<string>();
  private readonly failed = new Map<StageId, string>();
  private engine: Engine | undefined;
  /** A run is in progress (from planning to its end). */
  private cycling = false;
  private signal: NodeJS.Signals = 'SIGINT';
  private stopped!: () => void;
  private readonly done = new Promise<void>((resolve) => (this.stopped = resolve));

  constructor(private readonly deps: WatchLoopDeps) {}

  /** Runs, then watches until stop(); resolves when stopped. */
  async start(): Promise<void> {
    void this.cycle();
    await this.done;
  }

  /** Ctrl-C: kill the running stages, stop watching. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.signal = signal;
    clearTimeout(this.timer);
    this.engine?.interrupt(signal);
    await this.watcher?.close();
    // A run in progress ends first (an engine created from now on is interrupted at once).
    if (!this.cycling) this.stopped();
  }

  /**
   * Files actions update (the registry): as the last run left them, and those
   * that changed during a run. A run's own write is not a trigger; a change
   * by someone else (mlpipe models promote) is.
   */
  private readonly leftByRun = new Map<string, string>();
  private readonly updatedDuringRun = new Set<string>();

  private onChange(path: string): void {
    if (this.state === 'stopped' || !this.set?.triggers(path)) return;
    // The directory of an updated file is watched only to see that file (it is replaced by rename).
    if ([...this.set.updated.keys()].some((u) => dirname(u) === path)) return;
    if (this.set.updated.has(path)) {
      if (this.cycling) {
        this.updatedDuringRun.add(path); // decided when the run ends: did a stage that updates it run?
        return;
      }
      if (this.leftByRun.get(path) === fileIdentity(path)) return;
    }
    this.changed.add(this.set.rel(path));
    switch (this.state) {
      case 'running': {
        this.state = 'queued';
        this.cancelInterruptible(path);
        break;
      }
      case 'queued':
        this.cancelInterruptible(path);
        break;
      case 'watching':
      case 'debouncing':
        this.state = 'debouncing';
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.cycle(), this.deps.debounceMs);
        break;
    }
  }

  /** After a run: updated files it changed itself are remembered as it left them; others changed meanwhile trigger. */
  private settleUpdated(result: CycleResult): void {
    const ran = new Set(result.kind === 'ran' && result.summary ? result.summary.stages.filter((s) => s.outcome === 'ran').map((s) => s.id) : []);
    const updated = this.set?.updated ?? new Map<string, readonly StageId[]>();
    for (const path of this.updatedDuringRun) if (!(updated.get(path) ?? []).some((id) => ran.has(id))) this.onChange(path);
    this.updatedDuringRun.clear();
    this.leftByRun.clear();
    for (const path of updated.keys()) this.leftByRun.set(path, fileIdentity(path));
  }

  private cancelInterruptible(path: string): void {
    const engine = this.engine;
    if (!engine || !this.set) return;
    const running = new Set(engine.runningStages());
    const hit = this.set.stagesUsing(path).filter((id) => running.has(id) && engine.stage(id).interruptible);
    if (hit.length > 0) engine.cancel(hit, `restarted: ${this.set.rel(path)} changed while it ran`);
  }

  private async cycle(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'running';
    if (this.changed.size > 0) this.deps.reporter.event({ type: 'watch-change', paths: [...this.changed].sort() });
    this.changed.clear();
    this.cycling = true;
    const onEngine = (e: Engine | undefined) => {
      this.engine = e;
      if (e && this.now() === 'stopped') e.interrupt(this.signal);
    };
    const result = await this.deps.runOnce({ skipFailed: this.failed, onEngine, watch: (set) => this.updateWatched(set) });
    this.cycling = false;
    this.settleUpdated(result);
    this.engine = undefined;
    if (result.kind === 'ran' && result.summary) {
      for (const s of result.summary.stages) {
        if (s.outcome === 'failed' && s.key !== undefined) this.failed.set(s.id, s.key);
        else if (s.outcome === 'ran' || s.outcome === 'fresh' || s.outcome === 'restored') this.failed.delete(s.id);
      }
    }
    if (this.now() === 'stopped') {
      this.stopped();
      return;
    }
    if (this.now() === 'queued') {
      this.state = 'debouncing';
      this.timer = setTimeout(() => void this.cycle(), this.deps.debounceMs);
      return;
    }
    this.state = 'watching';
    globalThis.gc?.();
    this.deps.reporter.event({ type: 'watch-waiting', files: this.watchedCount(), heapUsed: process.memoryUsage().heapUsed });
  }

  /**
   * Watches the new set; a new watcher only when the paths changed, ready
   * (every directory scanned) before "waiting for changes" is reported.
   */
  private async updateWatched(next: WatchSet): Promise<void> {
    const first = this.set === undefined;
    this.set = next;
    const paths = new Set(next.paths);
    if (paths.size === this.watched.size && [...paths].every((p) => this.watched.has(p))) return;
    await this.watcher?.close();
    const { watch } = await import('chokidar');
    const watcher = watch([...paths], { ignoreInitial: true, followSymlinks: false, ignored: (path: string) => this.set?.ignored(path) ?? false });
    watcher.on('all', (_event, path) => this.onChange(path));
    watcher.on('error', () => {}); // a path that vanished: the next run re-plans
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    if (this.now() === 'stopped') {
      await watcher.close();
      return;
    }
    this.watcher = watcher;
    this.watched = paths;
    if (first) this.deps.reporter.event({ type: 'watch-started', files: this.watchedCount() });
  }

  /** Files and directories under watch. */
  private watchedCount(): number {
    const w = this.watcher?.getWatched() ?? {};
    let n = 0;
    for (const names of Object.values(w)) n += names.length;
    return n;
  }

  /** The state now (callbacks change it while a run is awaited). */
  private now(): WatchState {
    return this.state;
  }
}

/** A file's identity for "is this still what the run left": inode, size and mtime (or "missing"). */
function fileIdentity(path: string): string {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'missing';
}
