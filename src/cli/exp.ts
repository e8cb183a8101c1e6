// `mlpipe exp run|show|diff|apply|branch|list|remove|push|pull`: experiments
// as git commits under refs/exps/, run in isolated working copies that share
// the project's cache, a sweep's experiments planned and run together.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../analysis.js';
import { CacheStore } from '../cache/store.js';
import { compareFiles, formatValue, renderRows } from '../compare/diff.js';
import { flatten, readSnapshot, revisionSource, workspaceSource, type FileSource, type FileValues, type Snapshot } from '../compare/snapshot.js';
import { error, hasErrors, type Diagnostic } from '../pipeline/diagnostic.js';
import { ParseCache } from '../pipeline/parse-cache.js';
import { STATE_DIR } from '../pipeline/project.js';
import { colorsFor } from '../report/diagnostic-text.js';
import { renderTable } from '../report/table.js';
import { CatFile, GitError, GitRepo } from '../revision/git.js';
import { writeOverrides } from '../exp/params-edit.js';
import { listExperiments, recordExperiment, validName, type ExperimentInfo, type ExperimentMeta } from '../exp/record.js';
import { runExperiments, type PreparedExperiment } from '../exp/runner.js';
import { crossProduct, parseSweepSet, type SweepAxis } from '../exp/sweep.js';
import { copyIgnoredInputs, copyWorkspace, materializeCommit, workingCopyDir, type WorkingCopy } from '../exp/working-copy.js';
import { processAlive } from '../util/pid.js';
import { didYouMean } from '../util/suggest.js';
import { applyRunOptions } from './run.js';
import { reportersFor } from './reporting.js';
import { Revisions, UsageError, precisionOf, remoteFetcher, snapshots, tableFormat, type TableOptions } from './compare.js';
import { EXIT, type CliContext } from './context.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { RootGuard } from '../util/root-guard.js';
import { runCheckout } from './checkout.js';

/** The project and its repository, or exit 2 saying why experiments need git. */
function openRepo(ctx: CliContext): { root: string; repo: GitRepo; head: string } {
  const found = ctx.root();
  if ('diagnostic' in found) throw new UsageError(found.diagnostic.message, found.diagnostic.suggestion);
  const repo = GitRepo.open(found.root);
  if (!repo) throw new UsageError(`experiments are git commits, and ${found.root} is not inside a git repository`, 'run "git init" and commit the project first');
  const head = repo.head();
  if (!head) throw new UsageError('experiments are recorded on top of a commit, and this repository has none yet', 'commit the project first (git add -A && git commit)');
  return { root: found.root, repo, head };
}

async function guarded(ctx: CliContext, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) return ctx.error(e.message, e.suggestion);
    if (e instanceof GitError) return ctx.error(e.message);
    throw e;
  }
}

/** An experiment by name: those of HEAD first, then of any commit. */
function findExperiment(repo: GitRepo, head: string, name: string): ExperimentInfo {
  const all = listExperiments(repo);
  const found = all.find((e) => e.name === name && e.base === head) ?? all.find((e) => e.name === name);
  if (!found) throw new UsageError(`no experiment named "${name}"${didYouMean(name, all.map((e) => e.name))}`, 'list them with "mlpipe exp list -A"');
  return found;
}

/** Working copies left by an exp run that was killed: their process is gone. */
function removeDeadCopies(root: string): void {
  const dir = join(root, STATE_DIR, 'exps', 'work');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

export interface ExpRunOptions {
  readonly set?: string[];
  readonly name?: string;
  readonly jobs?: string;
  readonly queue?: boolean;
  readonly runAll?: boolean;
}

/** The --set axes, or the diagnostics that reject them. */
function axesOf(sets: readonly string[]): SweepAxis[] | Diagnostic[] {
  const axes: SweepAxis[] = [];
  const problems: Diagnostic[] = [];
  for (const s of sets) {
    const r = parseSweepSet(s);
    if ('severity' in r) problems.push(r);
    else if (axes.some((a) => a.key === r.key)) problems.push(error('bad-sweep', `--set ${r.key} is given twice`, undefined, { suggestion: `list every value in one --set: --set ${r.key}=a,b,c` }));
    else axes.push(r);
  }
  return problems.length > 0 ? problems : axes;
}

function setText(combo: ReadonlyMap<string, unknown>): string[] {
  return [...combo].map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
}

export async function runExpRun(ctx: CliContext, targets: string[], o: ExpRunOptions, argv: string[]): Promise<number> {
  let copies: WorkingCopy[] = [];
  try {
    return await guarded(ctx, async () => {
      const { root, repo, head } = openRepo(ctx);
      const jobs = applyRunOptions({ ...(o.jobs !== undefined ? { jobs: o.jobs } : {}) });
      if (typeof jobs !== 'number') return ctx.fail([jobs]);
      if (o.queue && o.runAll) throw new UsageError('--queue records experiments and --run-all runs the queued ones: give one of them');
      removeDeadCopies(root);
      const existing = listExperiments(repo, head);

      // What to run: queued experiments (--run-all), or one per combination of the --set values.
      let todo: { name: string; combo: Map<string, unknown>; queued?: ExperimentInfo }[];
      if (o.runAll) {
        if ((o.set ?? []).length > 0 || o.name) throw new UsageError('--run-all runs the experiments queued on this commit as they were queued: --set and -n belong to "exp run --queue"');
        todo = existing.filter((e) => e.meta.state === 'queued').map((e) => ({ name: e.name, combo: new Map(), queued: e }));
        if (todo.length === 0) {
          ctx.log('no queued experiments on this commit (queue some with "mlpipe exp run --queue --set KEY=VALUES")');
          return EXIT.ok;
        }
      } else {
        const axes = axesOf(o.set ?? []);
        if (axes.length > 0 && 'severity' in axes[0]!) return ctx.fail(axes as Diagnostic[]);
        const combos = crossProduct(axes as SweepAxis[]);
        if (!Array.isArray(combos)) return ctx.fail([combos]);
        const names = nameExperiments(o.name, combos.length, existing.map((e) => e.name));
        todo = combos.map((combo, i) => ({ name: names[i]!, combo }));
      }

      // The project as it is now must be valid, and every --set key must exist (with the nearest key suggested).
      const first = todo[0]!.combo;
      const analysis = analyze(root, undefined, first, ParseCache.none());
      if (hasErrors(analysis.diagnostics) || !analysis.graph) return ctx.fail(analysis.diagnostics);
      const paramFiles = [...new Set(analysis.pipelines.flatMap((p) => [...p.paramFiles, ...p.stages.flatMap((s) => s.params.map((x) => x.file))]))];
      const produced = new Set(analysis.pipelines.flatMap((p) => p.stages.flatMap((s) => s.outs.map((x) => x.path))));
      const inputs = [...new Set(analysis.pipelines.flatMap((p) => p.stages.flatMap((s) => s.deps.filter((d) => !d.glob && !produced.has(d.path)).map((d) => d.path))))];

      // Each experiment's working copy: the workspace (or its queued commit), its values written into its params files.
      const prepared: (PreparedExperiment & { meta: Omit<ExperimentMeta, 'state'>; queued?: ExperimentInfo })[] = [];
      for (const t of todo) {
        const dir = workingCopyDir(root, `${process.pid}-${t.name}`);
        const copy = t.queued ? materializeCommit(repo, t.queued.commit, dir) : copyWorkspace(repo, dir);
        copies.push(copy);
        if (!t.queued) {
          const unknown = writeOverrides(copy.root, paramFiles, t.combo);
          if (unknown.length > 0) throw new UsageError(`--set ${unknown.join(', ')}: no params file has this key`);
        }
        copyIgnoredInputs(root, copy, inputs);
        prepared.push({ name: t.name, copy, meta: { name: t.name, sets: t.queued ? t.queued.meta.sets : setText(t.combo) }, ...(t.queued ? { queued: t.queued } : {}) });
      }

      const reporter = await reportersFor(ctx);
      if (o.queue) {
        try {
          for (const p of prepared) {
            const commit = recordExperiment(repo, p.copy, head, { ...p.meta, state: 'queued' });
            reporter.event({ type: 'experiment-recorded', name: p.name, state: 'queued', commit, base: head, sets: p.meta.sets });
          }
        } finally {
          reporter.close();
        }
        if (!ctx.json) ctx.log('run them with "mlpipe exp run --run-all"');
        return EXIT.ok;
      }

      // Shown as "running" by exp show while this process lives.
      for (const p of prepared) writeRunningMarker(root, { name: p.name, base: head, pid: process.pid, root: p.copy.root, sets: p.meta.sets });
      let interrupt: ((s: NodeJS.Signals) => void) | undefined;
      const onSigint = () => interrupt?.('SIGINT');
      const onSigterm = () => interrupt?.('SIGTERM');
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigterm);
      let outcome: Awaited<ReturnType<typeof runExperiments>>;
      try {
        try {
          outcome = await runExperiments(prepared, { projectRoot: root, targets, jobs, argv, reporter, onInterrupt: (f) => (interrupt = f) });
        } finally {
          process.off('SIGINT', onSigint);
          process.off('SIGTERM', onSigterm);
        }
        if (outcome.interrupted) {
          ctx.log('interrupted: no experiment recorded');
          return outcome.interrupted === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
        }
        for (const [i, result] of outcome.results.entries()) {
          const p = prepared[i]!;
          const meta: ExperimentMeta = { ...p.meta, state: result.ok ? 'done' : 'failed', ...(result.failure ? { failure: result.failure } : {}) };
          const commit = recordExperiment(repo, p.copy, head, meta, p.queued?.commit);
          reporter.event({ type: 'experiment-recorded', name: p.name, state: meta.state as 'done' | 'failed', commit, base: head, sets: meta.sets, ...(result.failure ? { failure: result.failure } : {}) });
        }
      } finally {
        reporter.close();
      }
      const ok = outcome.results.every((r) => r.ok);
      if (!ctx.json) ctx.log('compare them with "mlpipe exp show"; bring one into the workspace with "mlpipe exp apply NAME"');
      return ok ? EXIT.ok : EXIT.failed;
    });
  } finally {
    for (const c of copies) rmSync(c.top, { recursive: true, force: true });
    copies = [];
    const found = ctx.root();
    if ('root' in found) removeRunningMarkers(found.root, process.pid);
  }
}

interface RunningMarker {
  readonly name: string;
  readonly base: string;
  readonly pid: number;
  /** The working copy's project root. */
  readonly root: string;
  readonly sets: readonly string[];
}

function runningDir(root: string): string {
  return join(root, STATE_DIR, 'exps', 'running');
}

function writeRunningMarker(root: string, m: RunningMarker): void {
  mkdirSync(runningDir(root), { recursive: true });
  writeFileAtomic(join(runningDir(root), `${m.pid}-${m.name}.json`), JSON.stringify(m));
}

function removeRunningMarkers(root: string, pid: number): void {
  const dir = runningDir(root);
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.startsWith(`${pid}-`)) rmSync(join(dir, f), { force: true });
}

/** Experiments an exp run is running now (its process alive), of one base commit; a dead process's markers are removed. */
function runningExperiments(root: string, base: string | undefined): RunningMarker[] {
  const dir = runningDir(root);
  if (!existsSync(dir)) return [];
  const out: RunningMarker[] = [];
  for (const f of readdirSync(dir)) {
    let m: RunningMarker;
    try {
      m = JSON.parse(readFileSync(join(dir, f), 'utf8')) as RunningMarker;
    } catch {
      continue;
    }
    if (typeof m.pid !== 'number' || typeof m.name !== 'string' || typeof m.root !== 'string' || !Array.isArray(m.sets)) continue;
    if (!processAlive(m.pid)) {
      rmSync(join(dir, f), { force: true });
      continue;
    }
    if (base === undefined || m.base === base) out.push(m);
  }
  return out;
}

/** -n NAME (NAME-1, NAME-2… for a sweep) or generated names; a name used on this commit is refused. */
function nameExperiments(name: string | undefined, count: number, taken: readonly string[]): string[] {
  if (name === undefined) {
    const names: string[] = [];
    while (names.length < count) {
      const candidate = `exp-${randomBytes(3).toString('hex')}`;
      if (!taken.includes(candidate) && !names.includes(candidate)) names.push(candidate);
    }
    return names;
  }
  if (!validName(name)) throw new UsageError(`"${name}" is not a valid experiment name: use letters, digits, "_", "-" and ".", starting with a letter or digit`);
  const names = count === 1 ? [name] : Array.from({ length: count }, (_, i) => `${name}-${i + 1}`);
  const clash = names.filter((n) => taken.includes(n));
  if (clash.length > 0) throw new UsageError(`an experiment named ${clash.map((n) => `"${n}"`).join(', ')} already exists on this commit`, 'choose another -n NAME, or remove it first with "mlpipe exp remove NAME"');
  return names;
}

// ---- exp show ----

export interface ExpShowOptions extends TableOptions {
  readonly allCommits?: boolean;
  /** Regular expressions over column titles (DVC's --keep / --drop). */
  readonly keep?: string;
  readonly drop?: string;
  readonly sortBy?: string;
  readonly sortOrder?: string;
}

interface ShowRow {
  readonly name: string;
  readonly rev: string;
  readonly commit?: string;
  readonly created?: string;
  readonly state: string;
  readonly params: ReadonlyMap<string, FileValues>;
  readonly metrics: ReadonlyMap<string, FileValues>;
}

/**
 * Values of the given files at a commit, read directly (the fast path for
 * many experiments on one base); undefined when a metrics file is not
 * committed there (then the whole snapshot is read, through the lock files).
 */
async function valuesAt(source: FileSource, params: readonly string[], metrics: readonly string[]): Promise<{ params: Map<string, FileValues>; metrics: Map<string, FileValues> } | undefined> {
  const read = async (path: string, numbersOnly: boolean): Promise<FileValues | undefined | 'absent'> => {
    const parsed = await source.parse(path);
    if (!parsed) return 'absent';
    if ('error' in parsed) return { error: parsed.error };
    return { values: flatten(parsed.data, numbersOnly) };
  };
  const [p, m] = await Promise.all([Promise.all(params.map((f) => read(f, false))), Promise.all(metrics.map((f) => read(f, true)))]);
  if (m.some((v) => v === 'absent')) return undefined;
  const pm = new Map<string, FileValues>();
  p.forEach((v, i) => v !== 'absent' && v && pm.set(params[i]!, v));
  const mm = new Map<string, FileValues>();
  m.forEach((v, i) => v !== 'absent' && v && mm.set(metrics[i]!, v));
  return { params: pm, metrics: mm };
}

/** Column names: the key alone, or "file:key" when two files have the same key. */
function columnsOf(rows: readonly ShowRow[], which: 'params' | 'metrics'): { file: string; key: string; title: string }[] {
  const pairs = new Map<string, { file: string; key: string }>();
  for (const r of rows) for (const [file, v] of r[which]) if ('values' in v) for (const key of v.values.keys()) pairs.set(`${file}\0${key}`, { file, key });
  const list = [...pairs.values()].sort((a, b) => (a.file === b.file ? (a.key < b.key ? -1 : 1) : a.file < b.file ? -1 : 1));
  const count = new Map<string, number>();
  for (const p of list) count.set(p.key, (count.get(p.key) ?? 0) + 1);
  return list.map((p) => ({ ...p, title: count.get(p.key)! > 1 ? `${p.file.split('/').pop()}:${p.key}` : p.key }));
}

function valueOf(row: ShowRow, which: 'params' | 'metrics', file: string, key: string) {
  const f = row[which].get(file);
  if (!f) return undefined;
  return 'error' in f ? { error: f.error } : f.values.get(key);
}

export async function runExpShow(ctx: CliContext, o: ExpShowOptions): Promise<number> {
  return guarded(ctx, async () => {
    const { root, repo, head } = openRepo(ctx);
    const precision = precisionOf(o);
    const revisions = new Revisions(root, 'exp show');
    try {
      const cat = revisions.catFile();
      const at = (commit: string, label: string) => revisionSource(cat, commit, label, revisions.blobCache);
      const store = new CacheStore(join(root, STATE_DIR));
      const fetch = await remoteFetcher(root, store);
      const [workspace, base] = await Promise.all([readSnapshot(await revisions.source('workspace'), store, { params: true, metrics: true }, fetch), readSnapshot(at(head, 'HEAD'), store, { params: true, metrics: true }, fetch)]);
      const exps = listExperiments(repo, o.allCommits ? undefined : head);
      const paramFiles = [...new Set([...workspace.params.keys(), ...base.params.keys()])];
      const metricFiles = [...new Set([...workspace.metrics.keys(), ...base.metrics.keys()])];
      const rows: ShowRow[] = [
        { name: 'workspace', rev: 'workspace', state: '-', params: workspace.params, metrics: workspace.metrics },
        { name: 'HEAD', rev: head.slice(0, 7), commit: head, state: '-', params: base.params, metrics: base.metrics },
      ];
      const expRows = await Promise.all(
        exps.map(async (e): Promise<ShowRow> => {
          const source = at(e.commit, e.name);
          const values = (await valuesAt(source, paramFiles, metricFiles)) ?? (await readSnapshot(source, store, { params: true, metrics: true }, fetch));
          return { name: e.name, rev: e.base.slice(0, 7), commit: e.commit, created: e.created, state: e.meta.state, params: values.params, metrics: values.metrics };
        }),
      );
      const recorded = new Set(exps.map((e) => `${e.base}/${e.name}`));
      for (const m of runningExperiments(root, o.allCommits ? undefined : head)) {
        if (recorded.has(`${m.base}/${m.name}`) || !m.root.startsWith(join(root, STATE_DIR, 'exps', 'work'))) continue;
        const values = await readSnapshot(workspaceSource(m.root), store, { params: true, metrics: true });
        expRows.push({ name: m.name, rev: m.base.slice(0, 7), state: 'running', params: values.params, metrics: values.metrics });
      }
      if (o.sortBy) sortRows(expRows, o.sortBy, o.sortOrder === 'desc', rows);
      rows.push(...expRows);
      printShow(ctx, rows, o, precision);
      return EXIT.ok;
    } finally {
      revisions.close();
    }
  });
}

function sortRows(rows: ShowRow[], by: string, desc: boolean, context: readonly ShowRow[]): void {
  const all = [...context, ...rows];
  const columns = [...columnsOf(all, 'params').map((c) => ({ ...c, which: 'params' as const })), ...columnsOf(all, 'metrics').map((c) => ({ ...c, which: 'metrics' as const }))];
  const col = columns.find((c) => c.title === by || `${c.file}:${c.key}` === by) ?? columns.find((c) => c.key === by);
  if (!col && !['name', 'created', 'state'].includes(by)) throw new UsageError(`--sort-by ${by}: no such param or metric${didYouMean(by, columns.map((c) => c.title))}`);
  const keyOf = (r: ShowRow): unknown => (col ? valueOf(r, col.which, col.file, col.key) : (r as unknown as Record<string, unknown>)[by]);
  rows.sort((a, b) => {
    const [x, y] = [keyOf(a), keyOf(b)];
    // Missing values last, whichever the order.
    if (x === undefined || (typeof x === 'object' && x !== null)) return 1;
    if (y === undefined || (typeof y === 'object' && y !== null)) return -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
}

function columnFilter(o: ExpShowOptions): (title: string) => boolean {
  const compile = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    try {
      return new RegExp(text);
    } catch (e) {
      throw new UsageError(`--${flag} "${text}" is not a regular expression: ${(e as Error).message}`);
    }
  };
  const keep = compile('keep', o.keep);
  const drop = compile('drop', o.drop);
  return (title) => (keep ? keep.test(title) : true) && !(drop && drop.test(title) && !(keep && keep.test(title)));
}

function printShow(ctx: CliContext, rows: readonly ShowRow[], o: ExpShowOptions, precision: number): void {
  const shown = columnFilter(o);
  const params = columnsOf(rows, 'params').filter((c) => shown(c.title) && (o.all || new Set(rows.map((r) => JSON.stringify(valueOf(r, 'params', c.file, c.key) ?? null))).size > 1));
  const metrics = columnsOf(rows, 'metrics').filter((c) => shown(c.title));
  if (ctx.json) {
    const nest = (m: ReadonlyMap<string, FileValues>) => Object.fromEntries([...m].map(([f, v]) => [f, 'error' in v ? { error: v.error } : Object.fromEntries(v.values)]));
    ctx.out(JSON.stringify(rows.map((r) => ({ name: r.name, rev: r.rev, ...(r.commit ? { commit: r.commit } : {}), ...(r.created ? { created: r.created } : {}), state: r.state, params: nest(r.params), metrics: nest(r.metrics) })), null, 2));
    return;
  }
  const head = ['Experiment', 'Created', 'State', ...params.map((c) => c.title), ...metrics.map((c) => c.title)];
  const body = rows.map((r) => [
    r.name,
    r.created ? r.created.slice(0, 16).replace('T', ' ') : '-',
    r.state,
    ...params.map((c) => formatValue(valueOf(r, 'params', c.file, c.key), precision)),
    ...metrics.map((c) => formatValue(valueOf(r, 'metrics', c.file, c.key), precision)),
  ]);
  const format = tableFormat(o);
  ctx.out(renderTable(head, body, format, format === 'text' ? colorsFor(ctx.stdout, ctx.env) : undefined));
}

// ---- exp diff, apply, branch, list, remove, push, pull ----

export async function runExpDiff(ctx: CliContext, a: string, b: string, o: TableOptions): Promise<number> {
  return guarded(ctx, async () => {
    const { root, repo, head } = openRepo(ctx);
    const precision = precisionOf(o);
    for (const name of [a, b]) if (!repo.resolve(name)) findExperiment(repo, head, name);
    const revisions = new Revisions(root, 'exp diff');
    try {
      const snaps: Snapshot[] = await snapshots(root, revisions, [a, b], { params: true, metrics: true });
      const out: Record<string, unknown> = {};
      for (const what of ['params', 'metrics'] as const) {
        const rows = compareFiles(snaps.map((s) => s[what])).filter((r) => o.all || r.changed);
        if (ctx.json) {
          const { diffJson } = await import('../compare/diff.js');
          out[what] = diffJson(rows);
          continue;
        }
        if (rows.length === 0) {
          ctx.log(`no ${what} changes between ${a} and ${b}`);
          continue;
        }
        const format = tableFormat(o);
        ctx.out(renderRows([a, b], rows, { format, precision, change: true, ...(format === 'text' ? { colors: colorsFor(ctx.stdout, ctx.env) } : {}) }));
      }
      if (ctx.json) ctx.out(JSON.stringify(out, null, 2));
      return EXIT.ok;
    } finally {
      revisions.close();
    }
  });
}

export async function runExpApply(ctx: CliContext, name: string, o: { force?: boolean }, argv: string[]): Promise<number> {
  const code = await guarded(ctx, async () => {
    const { root, repo, head } = openRepo(ctx);
    const exp = findExperiment(repo, head, name);
    if (exp.meta.state === 'queued') throw new UsageError(`experiment "${name}" is queued and has not run yet`, 'run it with "mlpipe exp run --run-all"');
    // What the experiment changed against its base, within the project.
    const listed = repo.gitOk(['diff-tree', '-r', '-z', '--no-renames', '--name-status', exp.base, exp.commit, '--', repo.prefix === '' ? '.' : repo.prefix]);
    const fields = listed.split('\0').filter((f) => f !== '');
    const changes: { status: string; path: string }[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) changes.push({ status: fields[i]!, path: fields[i + 1]!.slice(repo.prefix.length) });
    const paths = changes.map((c) => c.path);
    if (!o.force && paths.length > 0) {
      const dirty = repo.gitOk(['status', '--porcelain', '-z', '--untracked-files=all', '--', ...paths]).split('\0').filter((l) => l !== '').map((l) => l.slice(3));
      if (dirty.length > 0) throw new UsageError(`exp apply would overwrite uncommitted changes to ${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ` and ${dirty.length - 5} more` : ''}`, 'commit or stash them first, or pass --force to overwrite them');
    }
    const guard = new RootGuard(root);
    const cat = new CatFile(repo);
    try {
      for (const c of changes) {
        const abs = join(root, c.path);
        guard.checkParent(abs);
        if (c.status === 'D') rmSync(abs, { force: true });
        else {
          const bytes = await cat.read(exp.commit, c.path);
          if (bytes) writeFileAtomic(abs, bytes);
        }
      }
    } finally {
      cat.close();
    }
    ctx.log(`applied ${name}: ${changes.length} file${changes.length === 1 ? '' : 's'} (${changes.map((c) => c.path).join(', ') || 'none'})`);
    return -1;
  });
  if (code !== -1) return code;
  // The experiment's outputs, from the cache, as its lock files record them.
  return runCheckout(ctx, [], argv);
}

export function runExpBranch(ctx: CliContext, name: string, branch: string): Promise<number> {
  return guarded(ctx, () => {
    const { repo, head } = openRepo(ctx);
    const exp = findExperiment(repo, head, name);
    const r = repo.git(['branch', '--', branch, exp.commit]);
    if (r.code !== 0) throw new UsageError(`cannot create branch "${branch}": ${r.stderr.trim().replace(/^fatal: /, '')}`);
    ctx.log(`branch ${branch} now points at experiment ${name} (${exp.commit.slice(0, 7)})`);
    return EXIT.ok;
  });
}

export function runExpList(ctx: CliContext, o: { allCommits?: boolean }): Promise<number> {
  return guarded(ctx, () => {
    const { repo, head } = openRepo(ctx);
    const exps = listExperiments(repo, o.allCommits ? undefined : head);
    if (ctx.json) ctx.out(JSON.stringify(exps.map((e) => ({ name: e.name, base: e.base, commit: e.commit, created: e.created, state: e.meta.state, sets: e.meta.sets, ...(e.meta.failure ? { failure: e.meta.failure } : {}) })), null, 2));
    else if (exps.length === 0) ctx.log(o.allCommits ? 'no experiments' : 'no experiments on this commit (-A: of every commit)');
    else {
      let base = '';
      for (const e of exps) {
        if (e.base !== base) ctx.out(`${(base = e.base).slice(0, 7)}${e.base === head ? ' (HEAD)' : ''}:`);
        ctx.out(`  ${e.name}  ${e.meta.state}${e.meta.sets.length > 0 ? `  ${e.meta.sets.join(' ')}` : ''}`);
      }
    }
    return EXIT.ok;
  });
}

export function runExpRemove(ctx: CliContext, names: string[]): Promise<number> {
  return guarded(ctx, () => {
    const { repo, head } = openRepo(ctx);
    const found = names.map((n) => findExperiment(repo, head, n));
    for (const e of found) {
      repo.gitOk(['update-ref', '-d', e.ref, e.commit]);
      ctx.log(`removed ${e.name}`);
    }
    return EXIT.ok;
  });
}

export function runExpPush(ctx: CliContext, remote: string, names: string[], o: { remote?: string } = {}): Promise<number> {
  return guarded(ctx, () => {
    const { root, repo, head } = openRepo(ctx);
    const refs = names.length > 0 ? names.map((n) => findExperiment(repo, head, n).ref) : listExperiments(repo).map((e) => e.ref);
    if (refs.length === 0) {
      ctx.log('no experiments to push');
      return EXIT.ok;
    }
    const r = repo.git(['push', '--', remote, ...refs.map((ref) => `${ref}:${ref}`)]);
    if (r.code !== 0) throw new UsageError(`git push to "${remote}" failed: ${r.stderr.trim()}`);
    ctx.log(`pushed ${refs.length} experiment${refs.length === 1 ? '' : 's'} to ${remote}`);
    const exps = listExperiments(repo).filter((e) => refs.includes(e.ref));
    return carryObjects(ctx, root, repo, exps.map((e) => e.commit), 'push', o.remote);
  });
}

/**
 * exp push|pull: the cache objects the experiments' lock files name go to
 * (come from) the remote cache too — the default one, or -r NAME; without any
 * configured, only the refs travel (said so).
 */
async function carryObjects(ctx: CliContext, root: string, repo: GitRepo, commits: readonly string[], direction: 'push' | 'pull', name: string | undefined): Promise<number> {
  const { loadConfig, RemoteChoiceError } = await import('../config/config.js');
  const { config } = loadConfig(root);
  if (!name && !process.env.MLPIPE_REMOTE && !config.defaultRemote) {
    ctx.log('no remote cache configured: only the commits travelled; their cached outputs stay here (mlpipe remote add NAME URL --default)');
    return EXIT.ok;
  }
  const { entriesOfCommits } = await import('../remote/history.js');
  const { openChosenRemote, RemoteError } = await import('../remote/store.js');
  const { blobsOf } = await import('../remote/transfer.js');
  const store = new CacheStore(join(root, STATE_DIR), config.link);
  const { initHashing } = await import('../cache/hash.js');
  await initHashing(); // manifests are read (and verified) to list a directory's objects
  try {
    const remote = await openChosenRemote(root, config, store, name);
    try {
      const entries = await entriesOfCommits(repo, commits);
      if (direction === 'push') {
        if (remote.store.readOnly) throw new RemoteError(remote.store.name, 'is read-only: the outputs stay here');
        const blobs = entries.flatMap((e) => Object.values(e.outs).flatMap((out) => blobsOf(store, out).blobs));
        const c = await remote.cache.push(blobs, entries, remote.store.jobs);
        ctx.log(`pushed ${c.files} cache object${c.files === 1 ? '' : 's'} and ${c.records} record${c.records === 1 ? '' : 's'} to ${remote.store.name}; ${c.skipped} already there`);
        if (c.errors.length > 0) throw new RemoteError(remote.store.name, c.errors[0]!, true);
      } else {
        const c = await remote.cache.fetch(entries.flatMap((e) => Object.values(e.outs)), remote.store.jobs);
        ctx.log(`fetched ${c.files} cache object${c.files === 1 ? '' : 's'} from ${remote.store.name}; ${c.skipped} already here${c.missing > 0 ? `; ${c.missing} not on the remote` : ''}`);
        if (c.errors.length > 0) throw new RemoteError(remote.store.name, c.errors[0]!, true);
      }
      return EXIT.ok;
    } finally {
      remote.store.close?.();
    }
  } catch (e) {
    if (e instanceof RemoteChoiceError) return ctx.error(e.message, e.suggestion);
    if (e instanceof RemoteError) {
      ctx.log(`error: ${e.message}`);
      return EXIT.failed;
    }
    throw e;
  }
}

export function runExpPull(ctx: CliContext, remote: string, names: string[], o: { remote?: string } = {}): Promise<number> {
  return guarded(ctx, () => {
    const { root, repo } = openRepo(ctx);
    const listed = repo.git(['ls-remote', '--', remote, 'refs/exps/*']);
    if (listed.code !== 0) throw new UsageError(`cannot list experiments of "${remote}": ${listed.stderr.trim()}`);
    const remoteRefs = listed.stdout.split('\n').map((l) => l.split('\t')[1]).filter((r): r is string => !!r && /^refs\/exps\/[0-9a-f]{40,64}\/[^/]+$/.test(r) && validName(r.split('/').pop()!));
    const wanted = names.length > 0 ? remoteRefs.filter((r) => names.includes(r.split('/').pop()!)) : remoteRefs;
    const missing = names.filter((n) => !wanted.some((r) => r.endsWith(`/${n}`)));
    if (missing.length > 0) throw new UsageError(`${remote} has no experiment named ${missing.map((n) => `"${n}"`).join(', ')}${didYouMean(missing[0]!, remoteRefs.map((r) => r.split('/').pop()!))}`);
    if (wanted.length === 0) {
      ctx.log(`${remote} has no experiments`);
      return EXIT.ok;
    }
    const r = repo.git(['fetch', '--', remote, ...wanted.map((ref) => `${ref}:${ref}`)]);
    if (r.code !== 0) throw new UsageError(`git fetch from "${remote}" failed: ${r.stderr.trim()}`);
    ctx.log(`pulled ${wanted.length} experiment${wanted.length === 1 ? '' : 's'} from ${remote}`);
    const exps = listExperiments(repo).filter((e) => wanted.includes(e.ref));
    return carryObjects(ctx, root, repo, exps.map((e) => e.commit), 'pull', o.remote);
  });
}

