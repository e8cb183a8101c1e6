// Everything a command needs from .mlpipe/ and the lock files, opened once:
// the stat index, workspace hashing, the object store, the run-cache and the
// lock file of each pipeline.
import { join } from 'node:path';
import { initHashing } from '../cache/hash.js';
import { canonicalJson } from '../cache/canonical.js';
import { lockPathFor, readLockFile, writeLockFile, type LockEntry, type LockFileData, type LockOut } from '../cache/lockfile.js';
import { RunCache } from '../cache/run-cache.js';
import { StatIndex } from '../cache/stat-index.js';
import { CacheStore } from '../cache/store.js';
import { Workspace } from '../cache/workspace.js';
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import { loadConfig, type ProjectConfig } from '../config/config.js';
import type { Pipeline, Stage } from '../pipeline/model.js';
import { STATE_DIR } from '../pipeline/project.js';
import { OutsideRootError, RootGuard } from '../util/root-guard.js';
import type { ParseCache } from '../pipeline/parse-cache.js';

/**
 * Lock writes are coalesced: a dirty lock file is written at most every
 * LOCK_WRITE_INTERVAL_MS, and never more often than keeps the writing under a
 * tenth of the run (a 10,000-stage lock takes tens of milliseconds to write).
 */
const LOCK_WRITE_INTERVAL_MS = 100;

export class LockFiles {
  private readonly byPipeline = new Map<string, { path: string; data: LockFileData }>();
  /** Entries whose objects are not known to be on disk yet, by stage id. */
  private readonly staged = new Map<string, { stage: Stage; entry: LockEntry }>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private background: Promise<void> = Promise.resolve();
  private lastWriteMs = 0;
  /** Written without recording them in the parse cache yet. */
  private readonly uncached = new Set<string>();

  constructor(
    root: string,
    pipelines: readonly Pipeline[],
    private readonly cache: ParseCache,
    /** Makes every object stored so far durable (the store's batched fsync). */
    private readonly syncObjects: () => Promise<void> = async () => {},
    readonly diagnostics: Diagnostic[] = [],
    guard?: RootGuard,
  ) {
    for (const p of pipelines) {
      const path = lockPathFor(p.file.source.absPath);
      try {
        guard?.checkParent(path); // a lock file is written beside its pipeline: never through a link out of the project
      } catch (e) {
        if (!(e instanceof OutsideRootError)) throw e;
        diagnostics.push(error('outside-root', `the lock file ${e.message}`, p.file.source.at(0), { suggestion: 'keep pipelines/ a directory inside the project, not a link to elsewhere' }));
        continue;
      }
      const read = readLockFile(root, path, cache);
      diagnostics.push(...read.diagnostics);
      this.byPipeline.set(p.name, { path, data: { schema: 1, stages: { ...read.lock.stages } } });
    }
  }

  get(stage: Stage): LockEntry | undefined {
    return this.staged.get(stage.id)?.entry ?? this.byPipeline.get(stage.pipeline)?.data.stages[stage.name];
  }

  /**
   * Records a stage's entry. With `newObjects` the entry waits until the
   * objects stored for it are synced: a lock file never points at bytes a power
   * failure could lose. The lock file is rewritten atomically within
   * LOCK_WRITE_INTERVAL_MS (a 1000-stage run would otherwise spend its time
   * rewriting a large file after every stage). A kill -9 inside that window
   * loses no work: the run-cache already holds the stage's result.
   */
  set(stage: Stage, entry: LockEntry, newObjects = false): void {
    if (newObjects) this.staged.set(stage.id, { stage, entry });
    else {
      this.staged.delete(stage.id);
      this.record(stage, entry);
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.background = this.background.then(() => this.writeSoon());
    }, Math.max(LOCK_WRITE_INTERVAL_MS, 10 * this.lastWriteMs));
  }

  /** Syncs the staged entries' objects, records the entries and writes the lock files. */
  private async writeSoon(): Promise<void> {
    await this.recordStaged();
    this.flush(false);
  }

  private async recordStaged(): Promise<void> {
    const batch = [...this.staged];
    if (batch.length === 0) return;
    await this.syncObjects();
    for (const [id, staged] of batch) {
      if (this.staged.get(id) !== staged) continue; // replaced meanwhile
      this.staged.delete(id);
      this.record(staged.stage, staged.entry);
    }
  }

  /** Resolves when every entry set so far is recorded (ready for the final flush). */
  async settle(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.background;
    await this.recordStaged();
  }

  private record(stage: Stage, entry: LockEntry): void {
    this.byPipeline.get(stage.pipeline)!.data.stages[stage.name] = entry;
    this.dirty.add(stage.pipeline);
    this.changedAny = true;
  }

  private changedAny = false;

  /** Whether any entry was recorded since the lock files were read. */
  get changed(): boolean {
    return this.changedAny || this.staged.size > 0;
  }

  /** Writes every lock file with unsaved entries; `final` also records them in the parse cache. */
  flush(final = true): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const started = performance.now();
    for (const name of this.dirty) {
      const lock = this.byPipeline.get(name)!;
      writeLockFile(lock.path, lock.data);
      this.uncached.add(name);
    }
    this.dirty.clear();
    this.lastWriteMs = performance.now() - started;
    if (final) {
      // The bytes just written need not be parsed by the next run.
      for (const name of this.uncached) {
        const lock = this.byPipeline.get(name)!;
        this.cache.set(lock.path, JSON.parse(canonicalJson(lock.data)), true);
      }
      this.uncached.clear();
    }
  }

  /** The stage key of every lock entry. */
  *keys(): Generator<string> {
    for (const { data } of this.byPipeline.values()) for (const e of Object.values(data.stages)) yield e.key;
  }

  /** Every output recorded in any lock file, for gc. */
  *outputs(): Generator<LockOut> {
    for (const { data } of this.byPipeline.values()) for (const e of Object.values(data.stages)) yield* Object.values(e.outs);
  }
}

export interface ProjectState {
  readonly stateDir: string;
  readonly parseCache: ParseCache;
  readonly index: StatIndex;
  readonly ws: Workspace;
  readonly store: CacheStore;
  readonly runCache: RunCache;
  readonly locks: LockFiles;
  /** Refuses deletes and writes whose directory leads outside the project. */
  readonly guard: RootGuard;
  /** mlpipe.config.yaml and .mlpipe/config.yaml, merged. */
  readonly config: ProjectConfig;
  /** What is wrong with them. */
  readonly configDiagnostics: readonly Diagnostic[];
}

/**
 * `cacheOf`: the project whose cache (objects and run-cache) and config to use
 * instead of this root's own — an experiment's working copy shares its
 * project's cache.
 */
export async function openState(root: string, pipelines: readonly Pipeline[], parseCache: ParseCache, cacheOf = root): Promise<ProjectState> {
  await initHashing();
  const stateDir = join(root, STATE_DIR);
  const cacheDir = join(cacheOf, STATE_DIR);
  const index = StatIndex.load(stateDir);
  const guard = new RootGuard(root);
  const { config, diagnostics: configDiagnostics } = loadConfig(cacheOf);
  const store = new CacheStore(cacheDir, config.link, guard);
  return {
    guard,
    config,
    configDiagnostics,
    stateDir,
    parseCache,
    index,
    ws: new Workspace(root, index),
    store,
    runCache: new RunCache(cacheDir),
    locks: new LockFiles(root, pipelines, parseCache, () => store.sync(), [], guard),
  };
}

/** Persists what this process learnt: the stat index and the parse cache. */
export function flushState(state: ProjectState): void {
  state.locks.flush();
  state.index.flush();
  state.parseCache.flush();
}
