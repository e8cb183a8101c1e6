// `mlpipe params diff`, `metrics show`, `metrics diff`: the values of params
// and metrics files in the working tree and at git revisions (experiments
// included), as aligned tables, Markdown, CSV or JSON.
import { join } from 'node:path';
import { CacheStore } from '../cache/store.js';
import type { LockOut } from '../cache/lockfile.js';
import { compareFiles, diffJson, renderRows, type DiffRow } from '../compare/diff.js';
import { readSnapshot, revisionSource, workspaceSource, type FileSource, type Snapshot, type SnapshotWants } from '../compare/snapshot.js';
import { STATE_DIR } from '../pipeline/project.js';
import { ParseCache } from '../pipeline/parse-cache.js';
import { BlobCache } from '../revision/blob-cache.js';
import { colorsFor } from '../report/diagnostic-text.js';
import type { TableFormat } from '../report/table.js';
import { CatFile, GitRepo } from '../revision/git.js';
import { didYouMean } from '../util/suggest.js';
import { EXIT, type CliContext } from './context.js';

export interface TableOptions {
  readonly md?: boolean;
  readonly csv?: boolean;
  readonly all?: boolean;
  readonly precision?: string;
}

/** A command's failure with its message and suggestion (exit 2). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly suggestion?: string,
  ) {
    super(message);
  }
}

/** Revisions of one command: the repository, one cat-file process, and the sources they name. */
export class Revisions {
  private cat: CatFile | undefined;
  private repoCache: GitRepo | undefined | null = null;
  /** What files parse to: the working tree's by stat, other revisions' by blob id. */
  readonly parseCache: ParseCache;
  readonly blobCache: BlobCache;

  constructor(
    readonly root: string,
    private readonly command: string,
  ) {
    this.parseCache = ParseCache.load(join(root, STATE_DIR));
    this.blobCache = BlobCache.load(join(root, STATE_DIR));
  }

  repo(): GitRepo {
    if (this.repoCache === null) this.repoCache = GitRepo.open(this.root);
    if (!this.repoCache) throw new UsageError(`${this.command} reads git revisions, and ${this.root} is not inside a git repository`, 'run "git init" and commit the project, or compare the working tree only (mlpipe metrics show)');
    return this.repoCache;
  }

  /** "workspace" is the working tree; anything else a revision (resolved by the cat-file process) or an experiment name. */
  async source(rev: string): Promise<FileSource> {
    if (rev === 'workspace') return workspaceSource(this.root, this.parseCache);
    const repo = this.repo();
    const commit = await this.catFile().commitOf(rev);
    const found = commit ? { commit } : repo.resolve(rev);
    if (!found) {
      const hint = didYouMean(rev, repo.revisionNames());
      throw new UsageError(`unknown revision or experiment "${rev}"${hint}`, repo.head() ? 'name a commit, branch or tag (git rev-parse accepts it), or an experiment from "mlpipe exp list"' : 'the repository has no commits yet: commit the project first');
    }
    return revisionSource(this.catFile(), found.commit, rev, this.blobCache);
  }

  catFile(): CatFile {
    return (this.cat ??= new CatFile(this.repo()));
  }

  close(): void {
    this.cat?.close();
    this.parseCache.flush();
    this.blobCache.flush();
  }
}

export function tableFormat(o: TableOptions): TableFormat {
  return o.md ? 'md' : o.csv ? 'csv' : 'text';
}

export function precisionOf(o: TableOptions): number {
  if (o.precision === undefined) return 5;
  const n = Number(o.precision);
  if (!Number.isInteger(n) || n < 0 || n > 20) throw new UsageError(`--precision must be a whole number from 0 to 20, not "${o.precision}"`);
  return n;
}

/** Runs a comparison command: its errors are exit 2 with a message, never a stack. */
async function guarded(ctx: CliContext, body: (root: string) => Promise<number>): Promise<number> {
  const found = ctx.root();
  if ('diagnostic' in found) return ctx.fail([found.diagnostic]);
  try {
    return await body(found.root);
  } catch (e) {
    if (e instanceof UsageError) return ctx.error(e.message, e.suggestion);
    throw e;
  }
}

export async function snapshots(root: string, revisions: Revisions, revs: readonly string[], wants: SnapshotWants): Promise<Snapshot[]> {
  const sources = await Promise.all(revs.map((r) => revisions.source(r)));
  const store = new CacheStore(join(root, STATE_DIR));
  const fetch = await remoteFetcher(root, store);
  return Promise.all(sources.map((s) => readSnapshot(s, store, wants, fetch)));
}

/**
 * Cached outputs of other revisions that the local cache lacks come from the
 * default remote, when one is configured (MLPIPE_REMOTE or default_remote);
 * opened only when first needed, and never an error of its own.
 */
export async function remoteFetcher(root: string, store: CacheStore): Promise<((outs: readonly LockOut[]) => Promise<void>) | undefined> {
  const { loadConfig } = await import('../config/config.js');
  const { config } = loadConfig(root);
  if (!process.env.MLPIPE_REMOTE && !config.defaultRemote) return undefined;
  let opened: Promise<import('../remote/transfer.js').RemoteCache | undefined> | undefined;
  return async (outs) => {
    opened ??= import('../remote/store.js').then(({ openChosenRemote }) => openChosenRemote(root, config, store).then((r) => r.cache)).catch(() => undefined);
    const cache = await opened;
    if (cache) await cache.fetch(outs, cache.remote.jobs);
  };
}

function reportProblems(ctx: CliContext, snaps: readonly Snapshot[]): void {
  for (const s of snaps) for (const p of s.problems) ctx.log(`warning: ${s.label}: ${p}`);
}

/** A and B of a diff: A defaults to HEAD, B to the working tree. */
function sidesOf(a: string | undefined, b: string | undefined): [string, string] {
  return [a ?? 'HEAD', b ?? 'workspace'];
}

async function runDiff(ctx: CliContext, what: 'params' | 'metrics', a: string | undefined, b: string | undefined, o: TableOptions): Promise<number> {
  return guarded(ctx, async (root) => {
    const precision = precisionOf(o);
    const revisions = new Revisions(root, `${what} diff`);
    try {
      const sides = sidesOf(a, b);
      const snaps = await snapshots(root, revisions, sides, { [what]: true });
      reportProblems(ctx, snaps);
      const rows = compareFiles(snaps.map((s) => s[what])).filter((r) => o.all || r.changed);
      print(ctx, sides, rows, o, precision, true);
      return EXIT.ok;
    } finally {
      revisions.close();
    }
  });
}

function print(ctx: CliContext, labels: readonly string[], rows: readonly DiffRow[], o: TableOptions, precision: number, change: boolean): void {
  if (ctx.json) {
    ctx.out(JSON.stringify(change ? diffJson(rows) : showJson(labels, rows), null, 2));
    return;
  }
  if (rows.length === 0) {
    ctx.log(change ? `no changes between ${labels[0]} and ${labels[1]}` : 'no metrics found');
    return;
  }
  const format = tableFormat(o);
  ctx.out(renderRows(labels, rows, { format, precision, change, ...(format === 'text' ? { colors: colorsFor(ctx.stdout, ctx.env) } : {}) }));
}

/** metrics show --json: {revision: {path: {key: value} | {error}}}. */
function showJson(labels: readonly string[], rows: readonly DiffRow[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  labels.forEach((label, i) => {
    const side: Record<string, Record<string, unknown>> = {};
    for (const r of rows) {
      const v = r.values[i];
      if (v === undefined) continue;
      const file = (side[r.path] ??= {});
      if (r.key === '') side[r.path] = v as { error: string };
      else file[r.key] = v;
    }
    out[label] = side;
  });
  return out;
}

export function runParamsDiff(ctx: CliContext, a: string | undefined, b: string | undefined, o: TableOptions): Promise<number> {
  return runDiff(ctx, 'params', a, b, o);
}

export function runMetricsDiff(ctx: CliContext, a: string | undefined, b: string | undefined, o: TableOptions): Promise<number> {
  return runDiff(ctx, 'metrics', a, b, o);
}

export function runMetricsShow(ctx: CliContext, targets: readonly string[], o: TableOptions & { rev?: string[] }): Promise<number> {
  return guarded(ctx, async (root) => {
    const precision = precisionOf(o);
    const revisions = new Revisions(root, 'metrics show --rev');
    try {
      const labels = ['workspace', ...(o.rev ?? [])];
      const snaps = await snapshots(root, revisions, labels, { metrics: true });
      reportProblems(ctx, snaps);
      const wanted = targets.map((t) => t.replace(/^\.\//, '').replace(/\/$/, ''));
      const rows = compareFiles(snaps.map((s) => s.metrics)).filter((r) => wanted.length === 0 || wanted.some((t) => r.path === t || r.path.startsWith(`${t}/`)));
      print(ctx, labels, rows, o, precision, false);
      return EXIT.ok;
    } finally {
      revisions.close();
    }
  });
}

export interface PlotsOptions {
  readonly out?: string;
}

/** plots show (the working tree) and plots diff (several revisions, a colour each): one HTML page, or the specs with --json. */
async function runPlots(ctx: CliContext, revs: readonly string[], targets: readonly string[], o: PlotsOptions, command: string): Promise<number> {
  return guarded(ctx, async (root) => {
    const revisions = new Revisions(root, command);
    try {
      const { chartOf, definitionsOf, plotsPage } = await import('../compare/plots.js');
      const snaps = await snapshots(root, revisions, revs, { plots: true });
      reportProblems(ctx, snaps);
      const defs = definitionsOf(snaps, targets);
      if (targets.length > 0 && defs.length === 0) throw new UsageError(`no plots match ${targets.join(', ')}`, 'name a plots file or chart id of a pipeline (mlpipe plots show lists them all)');
      const charts = [];
      for (const d of defs) charts.push(await chartOf(d, snaps));
      for (const c of charts) for (const p of c.problems) ctx.log(`warning: ${c.id}: ${p}`);
      if (ctx.json) {
        ctx.out(JSON.stringify(charts.map((c) => ({ id: c.id, spec: c.spec, ...(c.problems.length > 0 ? { problems: c.problems } : {}) })), null, 2));
        return EXIT.ok;
      }
      const { resolve } = await import('node:path');
      const { writeFileAtomic } = await import('../util/atomic-write.js');
      const { ensureDir } = await import('../util/dirs.js');
      const dir = resolve(ctx.cwd, o.out ?? 'mlpipe_plots');
      ensureDir(dir);
      const file = join(dir, 'index.html');
      writeFileAtomic(file, await plotsPage(revs.length > 1 ? `Plots: ${revs.join(' vs ')}` : 'Plots', charts));
      ctx.out(file);
      ctx.log(`${charts.length} chart${charts.length === 1 ? '' : 's'} written; open the file in a browser (it needs no network)`);
      return EXIT.ok;
    } finally {
      revisions.close();
    }
  });
}

export function runPlotsShow(ctx: CliContext, targets: readonly string[], o: PlotsOptions): Promise<number> {
  return runPlots(ctx, ['workspace'], targets, o, 'plots show');
}

/** No revision: HEAD against the working tree; one: it against the working tree; more: those. */
export function runPlotsDiff(ctx: CliContext, revs: readonly string[], o: PlotsOptions & { target?: string[] }): Promise<number> {
  const sides = revs.length === 0 ? ['HEAD', 'workspace'] : revs.length === 1 ? [revs[0]!, 'workspace'] : [...revs];
  return runPlots(ctx, sides, o.target ?? [], o, 'plots diff');
}
