// What a project holds at one revision (or in the working tree), for
// comparing: its params files' values, its metrics files' numbers and its
// plots' series and chart definitions. Files come from a FileSource (the disk,
// or git through one cat-file process); a metrics or plots file that is cached
// rather than committed is read through that revision's lock files from the
// local cache (the seam where a remote cache will plug in). Every file read
// here is untrusted: paths are checked like pipeline paths, sizes and nesting
// are bounded, and a file that cannot be read or parsed becomes an error
// value for that file, never an exception.
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import validateLock from '../generated/lock-validate.js';
import { initHashing, type ContentHash } from '../cache/hash.js';
import type { LockFileData, LockOut } from '../cache/lockfile.js';
import type { CacheStore } from '../cache/store.js';
import { checkPath, isInside } from '../pipeline/paths.js';
import { isRecord } from '../pipeline/params.js';
import { MAX_FILE_BYTES, parseYamlBytes, structureLimit } from '../pipeline/yaml-file.js';
import { RootGuard } from '../util/root-guard.js';
import type { CatFile } from '../revision/git.js';
import { BlobCache } from '../revision/blob-cache.js';
import { ParseCache } from '../pipeline/parse-cache.js';
import { PIPELINES_DIR } from '../pipeline/project.js';

/** Where a snapshot's files come from. */
export interface FileSource {
  /** How the revision is shown: "workspace", "HEAD", "main", an experiment name. */
  readonly label: string;
  /** The commit, for revisions. */
  readonly commit?: string;
  read(path: string): Promise<Buffer | undefined>;
  /** A JSON or YAML file's data (from a parse cache when the file is unchanged); undefined when absent. */
  parse(path: string): Promise<{ data: unknown } | { error: string } | undefined>;
  list(dir: string): Promise<{ name: string; isDir: boolean }[] | undefined>;
}

/** The working tree; a path whose real location is outside the project is not read. `cache`: parsed data by file stat. */
export function workspaceSource(root: string, cache: ParseCache = ParseCache.none()): FileSource {
  const guard = new RootGuard(root);
  const source: FileSource = {
    label: 'workspace',
    async parse(path) {
      const abs = join(root, path);
      let st;
      try {
        st = statSync(abs, { bigint: true });
      } catch {
        return undefined;
      }
      const hit = cache.get(abs, st);
      if (hit) return hit;
      const bytes = await source.read(path);
      if (!bytes) return undefined;
      const parsed = parseData(bytes, path);
      if ('data' in parsed) cache.set(abs, parsed.data);
      return parsed;
    },
    async read(path) {
      const abs = join(root, path);
      try {
        const st = lstatSync(abs);
        if (st.isSymbolicLink() ? !guard.fileInside(abs) : !st.isFile() || guard.escapes(abs)) return undefined;
        if (st.size > MAX_FILE_BYTES) return undefined;
        return readFileSync(abs);
      } catch {
        return undefined;
      }
    },
    async list(dir) {
      try {
        return readdirSync(join(root, dir), { withFileTypes: true }).map((d) => ({ name: d.name, isDir: d.isDirectory() }));
      } catch {
        return undefined;
      }
    },
  };
  return source;
}

/** A commit, read through git. `cache`: parsed data by blob id. */
export function revisionSource(cat: CatFile, commit: string, label: string, cache: BlobCache = BlobCache.none()): FileSource {
  return {
    label,
    commit,
    read: (path) => cat.read(commit, path),
    async parse(path) {
      const blob = await cat.readBlob(commit, path);
      if (!blob) return undefined;
      const hit = cache.get(blob.oid);
      if (hit) return hit;
      const parsed = parseData(blob.bytes, path);
      if ('data' in parsed) cache.set(blob.oid, parsed.data);
      return parsed;
    },
    list: (dir) => cat.list(commit, dir),
  };
}

export type Value = string | number | boolean | null;

/** A file's flattened values, or why it could not be read. */
export type FileValues = { readonly values: ReadonlyMap<string, Value> } | { readonly error: string };

export interface PlotDefinition {
  /** The chart's id: a file path, or a name when its y fields name files. */
  readonly id: string;
  readonly template?: string;
  readonly title?: string;
  readonly x?: string | Readonly<Record<string, string>>;
  readonly y?: string | readonly string[] | Readonly<Record<string, string | readonly string[]>>;
  readonly xLabel?: string;
  readonly yLabel?: string;
}

export interface Snapshot {
  readonly label: string;
  readonly commit?: string;
  /** params file → dotted key → value (leaves only). */
  readonly params: ReadonlyMap<string, FileValues>;
  /** metrics file → dotted key → number. */
  readonly metrics: ReadonlyMap<string, FileValues>;
  /** Chart definitions: each stage's plots outputs and each pipeline's top-level plots. */
  readonly plots: readonly PlotDefinition[];
  /** Problems with the pipeline or lock files themselves (shown, not fatal). */
  readonly problems: readonly string[];
  /** Reads a data file of this snapshot (committed, or cached through a lock), for plots. */
  readFile(path: string): Promise<Buffer | { error: string }>;
}

export interface SnapshotWants {
  readonly params?: boolean;
  readonly metrics?: boolean;
  readonly plots?: boolean;
}

/** Flattens mappings into dotted keys; with `numbersOnly`, keeps only numeric leaves (metrics). */
export function flatten(data: unknown, numbersOnly: boolean, prefix = '', out = new Map<string, Value>()): Map<string, Value> {
  if (isRecord(data)) {
    for (const [k, v] of Object.entries(data)) flatten(v, numbersOnly, prefix === '' ? k : `${prefix}.${k}`, out);
    return out;
  }
  if (prefix === '') return out;
  if (numbersOnly) {
    if (typeof data === 'number' && Number.isFinite(data)) out.set(prefix, data);
  } else if (data === null || typeof data !== 'object') out.set(prefix, data as Value);
  else out.set(prefix, JSON.stringify(data));
  return out;
}

/** The numbers of a metrics file on disk (dotted keys), or undefined when it cannot be read. */
export function readMetricsFile(abs: string): Record<string, number> | undefined {
  try {
    if (lstatSync(abs).size > MAX_FILE_BYTES) return undefined;
    const parsed = parseData(readFileSync(abs), abs);
    return 'data' in parsed && isRecord(parsed.data) ? (Object.fromEntries(flatten(parsed.data, true)) as Record<string, number>) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a JSON or YAML file's bytes with the limits of pipeline files. */
export function parseData(bytes: Buffer, path: string): { data: unknown } | { error: string } {
  if (bytes.length > MAX_FILE_BYTES) return { error: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` };
  if (/\.json$/i.test(path) && bytes.length <= MAX_FILE_BYTES) {
    // JSON.parse is much faster than the YAML parser; the nesting and size limits apply all the same.
    const text = bytes.toString('utf8');
    if (!structureLimit(text)) {
      try {
        return { data: JSON.parse(text.replace(/^\ufeff/, '')) };
      } catch {
        // not strict JSON: the YAML parser says where
      }
    }
  }
  const r = parseYamlBytes(bytes, path, path);
  const bad = r.diagnostics.find((d) => d.severity === 'error');
  if (bad || !r.file) return { error: bad ? bad.message : 'unreadable' };
  return { data: r.file.data };
}

function safePath(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.includes('${')) return undefined;
  const c = checkPath(raw, 'file', false);
  return c.ok ? c.path : undefined;
}

/** "path" or {path: flags}: the path of an outs/metrics/plots entry. */
function entryPath(entry: unknown): string | undefined {
  if (typeof entry === 'string') return safePath(entry);
  if (isRecord(entry)) {
    const keys = Object.keys(entry);
    if (keys.length === 1) return safePath(keys[0]);
  }
  return undefined;
}

function plotDefinition(entry: unknown): PlotDefinition | undefined {
  if (typeof entry === 'string') {
    const p = safePath(entry);
    return p ? { id: p } : undefined;
  }
  if (!isRecord(entry) || Object.keys(entry).length !== 1) return undefined;
  const [id, raw] = Object.entries(entry)[0]!;
  const props = isRecord(raw) ? raw : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const x = typeof props.x === 'string' ? props.x : isRecord(props.x) ? (props.x as Record<string, string>) : undefined;
  const y = typeof props.y === 'string' || Array.isArray(props.y) || isRecord(props.y) ? (props.y as PlotDefinition['y']) : undefined;
  return {
    id,
    ...(str(props.template) ? { template: str(props.template)! } : {}),
    ...(str(props.title) ? { title: str(props.title)! } : {}),
    ...(x !== undefined ? { x } : {}),
    ...(y !== undefined ? { y } : {}),
    ...(str(props.x_label) ? { xLabel: str(props.x_label)! } : {}),
    ...(str(props.y_label) ? { yLabel: str(props.y_label)! } : {}),
  };
}

/**
 * Reads what a revision holds. `store` is the local cache, for files the lock
 * files record as cached; `fetch`, when given, brings outputs the local cache
 * lacks from a remote cache first (verified there).
 */
export async function readSnapshot(source: FileSource, store: CacheStore | undefined, wants: SnapshotWants, fetch?: (outs: readonly LockOut[]) => Promise<void>): Promise<Snapshot> {
  const problems: string[] = [];
  const listing = (await source.list(PIPELINES_DIR)) ?? [];
  const pipelineFiles = listing.filter((e) => !e.isDir && /\.ya?ml$/.test(e.name)).map((e) => `${PIPELINES_DIR}/${e.name}`).sort();
  const lockNames = new Set(listing.filter((e) => !e.isDir && e.name.endsWith('.lock')).map((e) => e.name));

  const paramFiles = new Set<string>();
  const metricFiles = new Set<string>();
  const plots: PlotDefinition[] = [];
  const plotFiles = new Set<string>();
  const outs = new Map<string, LockOut>();
  let defaultParams = false;

  const [pipelineData, lockData] = await Promise.all([
    Promise.all(pipelineFiles.map((p) => source.parse(p))),
    Promise.all(pipelineFiles.map((p) => {
      const lock = p.replace(/\.ya?ml$/, '.lock');
      return lockNames.has(lock.slice(PIPELINES_DIR.length + 1)) ? source.parse(lock) : Promise.resolve(undefined);
    })),
  ]);
  pipelineFiles.forEach((file, i) => {
    const parsed = pipelineData[i];
    if (!parsed) return;
    if ('error' in parsed || !isRecord(parsed.data)) {
      problems.push(`${file}: ${'error' in parsed ? parsed.error : 'not a pipeline'}`);
      return;
    }
    const data = parsed.data;
    if (Array.isArray(data.params)) {
      for (const p of data.params) if (safePath(p)) paramFiles.add(safePath(p)!);
    } else defaultParams = true;
    if (Array.isArray(data.metrics)) for (const m of data.metrics) if (entryPath(m)) metricFiles.add(entryPath(m)!);
    if (Array.isArray(data.plots)) for (const p of data.plots) {
      const def = plotDefinition(p);
      if (def) plots.push(def);
    }
    if (isRecord(data.stages)) {
      for (const stage of Object.values(data.stages)) {
        if (!isRecord(stage)) continue;
        if (Array.isArray(stage.metrics)) for (const m of stage.metrics) if (entryPath(m)) metricFiles.add(entryPath(m)!);
        if (Array.isArray(stage.plots)) for (const m of stage.plots) if (entryPath(m)) plotFiles.add(entryPath(m)!);
        for (const p of Array.isArray(stage.params) ? stage.params : []) {
          if (!isRecord(p)) continue;
          for (const f of Object.keys(p)) if (safePath(f)) paramFiles.add(safePath(f)!);
        }
      }
    }
    const lockParsed = lockData[i];
    if (!lockParsed) return;
    if ('error' in lockParsed || !validateLock(lockParsed.data)) {
      problems.push(`${file.replace(/\.ya?ml$/, '.lock')}: ${'error' in lockParsed ? lockParsed.error : 'does not match the lock file schema'}`);
      return;
    }
    for (const entry of Object.values((lockParsed.data as LockFileData).stages)) {
      for (const [path, out] of Object.entries(entry.outs)) {
        outs.set(path, out);
        if (out.role === 'metrics') metricFiles.add(path);
        if (out.role === 'plots') plotFiles.add(path);
      }
    }
  });
  if (defaultParams || pipelineFiles.length === 0) paramFiles.add('params.yaml');
  for (const f of plotFiles) if (!plots.some((p) => p.id === f)) plots.push({ id: f });

  /** A file's bytes: committed, else through the lock's record of a cached output (or the directory output holding it). */
  const readFile = async (path: string): Promise<Buffer | { error: string }> => {
    const committed = await source.read(path);
    if (committed) return committed;
    if (!store) return { error: 'not found' };
    for (const [outPath, out] of outs) {
      const holds = (outPath === path && out.files === undefined) || (out.files !== undefined && isInside(path, outPath));
      if (holds && fetch && !store.has(out.hash as ContentHash)) await fetch([out]).catch(() => undefined);
      if (outPath === path && out.files === undefined) return await objectBytes(store, out.hash as ContentHash);
      if (out.files !== undefined && isInside(path, outPath)) {
        await initHashing();
        const manifest = store.readManifest(out.hash as ContentHash);
        if (!manifest) return { error: `not in the cache (directory ${outPath})` };
        const rel = path.slice(outPath.length + 1);
        const entry = manifest.find(([p]) => p === rel);
        return entry ? await objectBytes(store, entry[1] as ContentHash) : { error: `not in ${outPath}` };
      }
    }
    return { error: 'not found' };
  };

  const readValues = async (path: string, numbersOnly: boolean): Promise<FileValues | undefined> => {
    let parsed = await source.parse(path);
    if (!parsed) {
      const bytes = await readFile(path);
      if (!Buffer.isBuffer(bytes)) return bytes.error === 'not found' && !numbersOnly ? undefined : { error: bytes.error };
      parsed = parseData(bytes, path);
    }
    if ('error' in parsed) return { error: parsed.error };
    if (!isRecord(parsed.data)) return { error: 'not a mapping of keys to values' };
    return { values: flatten(parsed.data, numbersOnly) };
  };

  const params = new Map<string, FileValues>();
  const metrics = new Map<string, FileValues>();
  await Promise.all([
    ...(wants.params ? [...paramFiles].sort().map(async (f) => {
      const v = await readValues(f, false);
      if (v) params.set(f, v);
    }) : []),
    ...(wants.metrics ? [...metricFiles].sort().map(async (f) => {
      const v = await readValues(f, true);
      if (v) metrics.set(f, v);
    }) : []),
  ]);
  return {
    label: source.label,
    ...(source.commit ? { commit: source.commit } : {}),
    params: new Map([...params].sort(([a], [b]) => (a < b ? -1 : 1))),
    metrics: new Map([...metrics].sort(([a], [b]) => (a < b ? -1 : 1))),
    plots: wants.plots ? plots : [],
    problems,
    readFile,
  };
}

/** A cache object's bytes, verified against its name: a corrupt object is an error, never data. */
async function objectBytes(store: CacheStore, hash: ContentHash): Promise<Buffer | { error: string }> {
  await initHashing(); // loaded only when a cached file is read
  if (!store.verify(hash)) return { error: `cache object ${hash} is missing or corrupt` };
  try {
    const st = lstatSync(store.path(hash));
    if (st.size > MAX_FILE_BYTES) return { error: 'too large' };
    return readFileSync(store.path(hash));
  } catch (e) {
    return { error: (e as Error).message };
  }
}
