// The model registry: one small YAML file per model name, registry/<name>.yaml,
// meant to be committed to git. It lists the model's versions (content hash of
// the model directory, metrics, params, the pipeline, stage and lock that
// produced it, the git commit) in the order they were registered, the aliases
// (production, staging, any name) pointing at versions, and retirements. The
// file is written deterministically (fixed field order, aliases sorted, one
// block per version appended at the end) so that merges stay readable; the
// model bytes themselves live in the content-addressed cache under the hash.
//
// Every change is a read-modify-write under a lock (.mlpipe/locks/, taken with
// proper-lockfile: stale locks of dead writers are taken over) and ends in an
// atomic rename, so concurrent writers — parallel register stages, `mlpipe
// models promote` during a run — never lose each other's change or leave a torn
// file.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import validateRegistry from '../generated/registry-validate.js';
import { error, hasErrors, type Diagnostic } from '../pipeline/diagnostic.js';
import { checkAgainst } from '../pipeline/schema-check.js';
import type { Location } from '../pipeline/source.js';
import { locate, readYamlFile } from '../pipeline/yaml-file.js';
import type { ParseCache } from '../pipeline/parse-cache.js';
import { OutsideRootError, RootGuard } from '../util/root-guard.js';
import { writeFileAtomic } from '../util/atomic-write.js';

const REGISTRY_DIR = 'registry';
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
export const ALIAS_PATTERN = /^[a-z][a-z0-9._-]*$/;

export interface Retirement {
  readonly at: string;
  readonly reason: string;
}

export const FLAVORS = ['tfjs', 'onnx', 'sklearn', 'pytorch', 'custom'] as const;
export type Flavor = (typeof FLAVORS)[number];

/** The champion/challenger decision recorded with a version (register's promote). */
export interface Promotion {
  readonly alias: string;
  readonly metric: string;
  readonly goal: 'maximize' | 'minimize';
  readonly min_delta?: number;
  readonly challenger: number;
  /** The version behind the alias when the decision was made, and its score; null: there was none. */
  readonly champion: { readonly version: number; readonly value: number; readonly source?: 'evaluation' | 'registry' } | null;
  /** The rows both were scored on. */
  readonly data?: { readonly path: string; readonly hash: string };
  readonly decision: 'promoted' | 'kept';
  readonly reason: string;
}

export interface ModelVersion {
  readonly version: number;
  /** Content hash of the model directory or file (the same hash lock files record for it). */
  readonly hash: string;
  /** What kind of model the bytes are; absent means tfjs (mlpipe/train or mlpipe/package). */
  readonly flavor?: Flavor;
  /** The model is one file, not a directory. */
  readonly file?: true;
  readonly registered_at: string;
  readonly commit?: string;
  /** The working tree had uncommitted changes when the version was registered; which paths. */
  readonly dirty?: boolean;
  readonly changed?: readonly string[];
  readonly pipeline?: string;
  readonly stage?: string;
  readonly lock?: string;
  /** Where the model directory was, root-relative, when it was registered. */
  readonly source: string;
  /** The stage that wrote the model directory and the key of its lock entry. */
  readonly produced_by?: { readonly stage: string; readonly key: string };
  readonly metrics?: Readonly<Record<string, number>>;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly promotion?: Promotion;
  readonly retired?: Retirement;
}

export const flavorOf = (v: ModelVersion): Flavor => v.flavor ?? 'tfjs';

export interface ModelRecord {
  readonly name: string;
  /** alias → version number. */
  readonly aliases: Readonly<Record<string, number>>;
  readonly versions: readonly ModelVersion[];
}

/** A registry file that cannot be read (with its located diagnostics), or a bad reference. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly suggestion?: string,
    /** Located diagnostics, when a registry file is at fault. */
    readonly diagnostics?: readonly Diagnostic[],
  ) {
    super(message);
  }

  static of(diagnostics: readonly Diagnostic[]): RegistryError {
    const first = diagnostics[0]!;
    const at = first.location ? `${first.location.file.path}:${positionOf(first.location)}: ` : '';
    return new RegistryError(`${at}${first.message}`, first.suggestion, diagnostics);
  }
}

function positionOf(loc: Location): string {
  const { line, col } = loc.file.position(loc.start);
  return `${line}:${col}`;
}

/** Names are checked before they become a path: "../../x" never reads registry/../../x.yaml. */
function registryFile(root: string, name: string): string {
  if (!NAME_PATTERN.test(name)) throw new RegistryError(`"${name}" is not a model name`, 'model names are lower-case letters, digits, ".", "_" and "-", starting with a letter or digit: iris, churn-v2');
  return join(root, REGISTRY_DIR, `${name}.yaml`);
}

const HEADER = (name: string) =>
  `# mlpipe model registry for "${name}": versions, aliases and retirements.\n# Written by mlpipe (register action, mlpipe models); commit it. Model bytes live in the cache under each version's hash.\n`;

/** The file's text for a record: fixed field order, aliases sorted, versions in order. */
function registryText(record: ModelRecord): string {
  const aliases = Object.fromEntries(Object.entries(record.aliases).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const order: (keyof ModelVersion)[] = ['version', 'hash', 'flavor', 'file', 'registered_at', 'commit', 'dirty', 'changed', 'pipeline', 'stage', 'lock', 'source', 'produced_by', 'metrics', 'params', 'promotion', 'retired'];
  const versions = record.versions.map((v) => Object.fromEntries(order.filter((k) => v[k] !== undefined).map((k) => [k, v[k]])));
  return HEADER(record.name) + stringify({ name: record.name, aliases, versions }, { lineWidth: 0, sortMapEntries: false });
}

const FIX = 'registry files are written by mlpipe (mlpipe/register, mlpipe models): restore this one from git, or fix the entry';

/**
 * Reads and checks a registry file (schemas/registry.schema.json, then what a
 * schema cannot say: the name, unique versions, aliases that point at
 * versions); every problem is a located diagnostic. The same reader as
 * pipeline files, so size, encoding and nesting limits apply too.
 */
export function parseRegistryFile(absPath: string, displayPath: string, name: string, cache?: ParseCache): ModelRecord {
  const read = readYamlFile(absPath, displayPath, cache);
  const source = read.file?.source ?? read.diagnostics[0]?.location?.file;
  const conflict = source ? source.text.search(/^(<<<<<<<|>>>>>>>|=======)( |$)/m) : -1;
  if (source && conflict !== -1) {
    throw RegistryError.of([error('merge-conflict', 'unresolved merge conflict', source.at(conflict, conflict + 7), { suggestion: "keep both sides' versions (renumber one), then pick each alias's version" })]);
  }
  if (!read.file) throw RegistryError.of(read.diagnostics);
  const file = read.file;
  if (hasErrors(read.diagnostics)) throw RegistryError.of(read.diagnostics.map((d) => (d.suggestion ? d : { ...d, suggestion: FIX })));
  const schema = checkAgainst(validateRegistry, file);
  if (schema.length > 0) throw RegistryError.of(schema.map((d) => (d.suggestion ? d : { ...d, suggestion: FIX })));
  const data = file.data as { name: string; aliases?: Record<string, number> | null; versions?: ModelVersion[] | null };
  if (data.name !== name) throw RegistryError.of([error('registry-name', `name is ${JSON.stringify(data.name)}, but the file is for "${name}"`, locate(file, ['name']), { suggestion: `write name: ${name}, or rename the file to registry/${data.name}.yaml` })]);
  const versions = data.versions ?? [];
  const seen = new Set<number>();
  versions.forEach((v, i) => {
    if (seen.has(v.version)) throw RegistryError.of([error('registry-version', `version ${v.version} is listed twice`, locate(file, ['versions', i, 'version']), { suggestion: 'renumber one of them (a merge of two registrations?)' })]);
    seen.add(v.version);
  });
  const aliases = data.aliases ?? {};
  for (const [alias, version] of Object.entries(aliases)) {
    if (!seen.has(version)) throw RegistryError.of([error('registry-alias', `alias "${alias}" points at ${version}, which is not a version of ${name}`, locate(file, ['aliases', alias]), { suggestion: `point it at one of the versions: ${[...seen].join(', ') || 'none yet'}` })]);
  }
  return { name, aliases, versions };
}

export function readModel(root: string, name: string, cache?: ParseCache): ModelRecord | undefined {
  const file = registryFile(root, name);
  if (!existsSync(file)) return undefined;
  return parseRegistryFile(file, `${REGISTRY_DIR}/${name}.yaml`, name, cache);
}

/** A model's record, or an error naming the registered ones. */
export function requireModel(root: string, name: string): ModelRecord {
  const record = readModel(root, name);
  if (record) return record;
  const names = modelNames(root);
  throw new RegistryError(`no model named "${name}" in the registry (${REGISTRY_DIR}/${name}.yaml)`, names.length ? `registered models: ${names.join(', ')}` : 'register one with a stage that uses mlpipe/register');
}

/** Every registered model name. */
export function modelNames(root: string): string[] {
  const dir = join(root, REGISTRY_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .filter((n) => NAME_PATTERN.test(n))
    .sort();
}

/**
 * Changes one model's record under its lock: reads the current file, applies
 * `change` (which returns the new record and a result), writes atomically.
 */
export async function updateModel<T>(root: string, name: string, change: (current: ModelRecord) => { record: ModelRecord; result: T }): Promise<T> {
  const locks = join(root, '.mlpipe', 'locks');
  try {
    new RootGuard(root).checkParent(registryFile(root, name)); // never written through a link out of the project
  } catch (e) {
    if (e instanceof OutsideRootError) throw new RegistryError(`the registry file ${e.message}`, 'keep registry/ a directory inside the project, not a link to elsewhere');
    throw e;
  }
  mkdirSync(locks, { recursive: true });
  mkdirSync(join(root, REGISTRY_DIR), { recursive: true });
  // Loaded here: validate and the read-only commands read registry files without it.
  const { default: lockfile } = await import('proper-lockfile');
  const release = await lockfile.lock(registryFile(root, name), {
    realpath: false,
    lockfilePath: join(locks, `registry-${name}.lock`),
    stale: 10_000,
    retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 250 },
  });
  try {
    const current = readModel(root, name) ?? { name, aliases: {}, versions: [] };
    const { record, result } = change(current);
    if (record !== current) writeFileAtomic(registryFile(root, name), registryText(record));
    return result;
  } finally {
    await release();
  }
}

/** A reference a user types: "iris", "iris@production", "iris:3" (or "iris@3"). */
export interface ModelRef {
  readonly name: string;
  readonly alias?: string;
  readonly version?: number;
}

export function parseRef(text: string): ModelRef | undefined {
  // MLflow's model URIs: models:/iris@production, models:/iris/3.
  const uri = /^models:\/([a-z0-9][a-z0-9._-]*)(?:@([a-z][a-z0-9._-]*)|\/(\d+))?$/.exec(text);
  if (uri) return uri[2] !== undefined ? { name: uri[1]!, alias: uri[2] } : uri[3] !== undefined ? { name: uri[1]!, version: Number(uri[3]) } : { name: uri[1]! };
  const m = /^([a-z0-9][a-z0-9._-]*?)(?:([@:])(.+))?$/.exec(text);
  if (!m) return undefined;
  const [, name, sep, rest] = m;
  if (rest === undefined) return { name: name! };
  if (/^v?\d+$/.test(rest)) return { name: name!, version: Number(rest.replace(/^v/, '')) };
  if (sep === '@' && ALIAS_PATTERN.test(rest)) return { name: name!, alias: rest };
  return undefined;
}

export const refText = (r: ModelRef) => (r.alias ? `${r.name}@${r.alias}` : r.version !== undefined ? `${r.name}:${r.version}` : r.name);

/**
 * The version a reference names. A bare name means its "production" alias if
 * there is one, else its newest version that is not retired.
 */
export function resolveRef(record: ModelRecord, ref: ModelRef): ModelVersion {
  const known = record.versions.map((v) => `${v.version}`).join(', ') || 'none';
  const aliases = Object.keys(record.aliases);
  if (ref.version !== undefined) {
    const v = record.versions.find((x) => x.version === ref.version);
    if (!v) throw new RegistryError(`${record.name} has no version ${ref.version} (versions: ${known})`);
    return v;
  }
  if (ref.alias !== undefined) {
    const n = record.aliases[ref.alias];
    if (n === undefined) throw new RegistryError(`${record.name} has no alias "${ref.alias}"`, aliases.length ? `its aliases: ${aliases.map((a) => `${a} → ${record.aliases[a]}`).join(', ')}` : 'promote a version: mlpipe models promote NAME:VERSION ALIAS');
    return record.versions.find((x) => x.version === n)!;
  }
  if (record.aliases.production !== undefined) return record.versions.find((x) => x.version === record.aliases.production)!;
  const live = record.versions.filter((v) => !v.retired);
  if (live.length === 0) throw new RegistryError(`${record.name} has no version that is not retired (versions: ${known})`);
  return live[live.length - 1]!;
}

/** Aliases pointing at a version. */
export function aliasesOf(record: ModelRecord, version: number): string[] {
  return Object.entries(record.aliases)
    .filter(([, v]) => v === version)
    .map(([a]) => a)
    .sort();
}

export function retiredMessage(name: string, v: ModelVersion): string {
  return `${name}:${v.version} is retired (${v.retired!.at.slice(0, 10)}: ${v.retired!.reason})`;
}

/** Adds `v` (or finds the version with the same bytes) and moves `aliases` to it. */
export function withVersion(record: ModelRecord, v: Omit<ModelVersion, 'version'>, aliases: readonly string[]): { record: ModelRecord; version: ModelVersion; existing: boolean } {
  const same = record.versions.find((x) => x.hash === v.hash);
  if (same?.retired && aliases.length > 0) throw new RegistryError(`these model bytes are ${retiredMessage(record.name, same)}: nothing promotes a retired version`, 'train a new model, or drop the aliases from the register stage');
  const version = same ?? { version: Math.max(0, ...record.versions.map((x) => x.version)) + 1, ...v };
  const moved = aliases.filter((a) => record.aliases[a] !== version.version);
  if (same && moved.length === 0) return { record, version, existing: true };
  return {
    record: {
      name: record.name,
      aliases: { ...record.aliases, ...Object.fromEntries(aliases.map((a) => [a, version.version])) },
      versions: same ? record.versions : [...record.versions, version],
    },
    version,
    existing: same !== undefined,
  };
}

/** Points `alias` at `version`; a retired version is refused. */
export function withAlias(record: ModelRecord, version: ModelVersion, alias: string): ModelRecord {
  if (version.retired) throw new RegistryError(`${retiredMessage(record.name, version)}: nothing promotes a retired version`, `promote another version (mlpipe models list ${record.name})`);
  return { ...record, aliases: { ...record.aliases, [alias]: version.version } };
}

/**
 * Marks `version` retired. Aliases pointing at it stay (so `serve NAME@ALIAS`
 * says which version was retired and why) until another version is promoted.
 */
export function withRetired(record: ModelRecord, version: ModelVersion, reason: string, at: string): ModelRecord {
  return {
    ...record,
    versions: record.versions.map((x) => (x.version === version.version ? { ...x, retired: { at, reason } } : x)),
  };
}

/** register's retire: which versions a policy retires. */
export interface RetirePolicy {
  /** Keep the newest N versions whatever they hold. */
  readonly keep_last?: number;
  /** Milliseconds: versions registered longer ago than this. */
  readonly older_than_ms?: number;
  /** As written, for the reason recorded. */
  readonly older_than?: string;
}

/**
 * Retires, by policy, versions that hold no alias and are not retired yet: older
 * than the newest `keep_last`, and (when both are given) registered longer ago
 * than `older_than`. Returns the new record and the versions retired.
 */
export function withRetirementPolicy(record: ModelRecord, policy: RetirePolicy, now: Date): { record: ModelRecord; retired: ModelVersion[] } {
  const held = new Set(Object.values(record.aliases));
  const newest = [...record.versions].sort((a, b) => b.version - a.version);
  const kept = new Set(policy.keep_last === undefined ? [] : newest.slice(0, policy.keep_last).map((v) => v.version));
  const retire = record.versions.filter((v) => {
    if (v.retired || held.has(v.version)) return false;
    const outsideLast = policy.keep_last === undefined || !kept.has(v.version);
    const old = policy.older_than_ms === undefined || now.getTime() - Date.parse(v.registered_at) > policy.older_than_ms;
    return outsideLast && old;
  });
  if (retire.length === 0) return { record, retired: [] };
  const why = [policy.keep_last !== undefined ? `not among the last ${policy.keep_last} versions` : '', policy.older_than !== undefined ? `registered more than ${policy.older_than} ago` : ''].filter(Boolean).join(' and ');
  let next = record;
  for (const v of retire) next = withRetired(next, v, `retired by policy: holds no alias, ${why}`, now.toISOString());
  return { record: next, retired: next.versions.filter((v) => retire.some((r) => r.version === v.version)) };
}
