// Stage keys: a SHA-256 of a canonical, versioned record of everything that
// decides a stage's result — command or action and inputs, each dep's path and
// content hash, param values, env, wdir, and output paths and flags. Deps enter
// as content hashes only (never nested records), so an upstream rerun that
// reproduces identical bytes leaves the key unchanged (early cutoff).
import { createHash } from 'node:crypto';
import type { Stage } from '../pipeline/model.js';
import type { ConditionRecord } from '../pipeline/condition.js';
import { actionFor } from '../actions/registry.js';
import { mlBackend } from '../ml/backend.js';
import { canonicalJson } from './canonical.js';
import type { LockEntry, LockOut, LockState } from './lockfile.js';
import type { PathState, Workspace } from './workspace.js';

/**
 * Bump when the record's shape or meaning changes: every stage becomes stale once.
 * 2: `run --set` no longer reaches a cmd stage's declared params (entries recorded
 * under 1 may hold a value the command never saw).
 */
export const KEY_VERSION = 2;

/** Whole-file param dependencies are recorded under this key. */
export const WHOLE_FILE = '*';

export interface KeyRecord {
  readonly v: number;
  readonly cmd?: readonly string[];
  readonly uses?: string;
  readonly with?: unknown;
  /** ML actions: the TensorFlow.js backend (results differ by backend). */
  readonly backend?: string;
  /** Built-in actions: the implementation's version (see actions/registry). */
  readonly actionVersion?: number;
  readonly deps: Record<string, LockState | null>;
  readonly params: Record<string, Record<string, unknown>>;
  readonly env: Record<string, string>;
  readonly wdir: string;
  readonly outs: Record<string, { role: string; cache: boolean; persist: boolean }>;
  /** A stage with `if:`: the values its condition read and its result (absent otherwise, so other keys are unchanged). */
  readonly if?: ConditionRecord;
}

export function lockState(s: PathState): LockState | null {
  if (s.kind === 'missing') return null;
  if (s.kind === 'file') return { hash: s.hash, size: s.size };
  return { hash: s.hash, size: s.size, files: s.files ?? s.manifest.length };
}

/** The record of a stage as its inputs are now in the workspace (and, with `if:`, what its condition read). */
export function keyRecord(stage: Stage, ws: Workspace, condition?: ConditionRecord): KeyRecord {
  const deps: Record<string, LockState | null> = {};
  for (const d of stage.deps) deps[d.path] = lockState(d.glob ? ws.globState(d.path) : ws.state(d.path));
  const params: Record<string, Record<string, unknown>> = {};
  for (const p of stage.params) (params[p.file] ??= {})[p.key ?? WHOLE_FILE] = p.value;
  const outs: KeyRecord['outs'] = {};
  for (const o of stage.outs) outs[o.path] = { role: o.role, cache: o.cache, persist: o.persist };
  const action = stage.uses ? actionFor(stage.uses.value) : undefined;
  return {
    v: KEY_VERSION,
    ...(stage.cmd ? { cmd: stage.cmd.map((c) => c.value) } : {}),
    ...(stage.uses ? { uses: stage.uses.value, with: stage.with } : {}),
    ...(action?.ml ? { backend: mlBackend() } : {}),
    ...(action ? { actionVersion: action.version } : {}),
    deps,
    params,
    env: { ...stage.env },
    wdir: stage.wdir,
    outs,
    ...(condition ? { if: condition } : {}),
  };
}

export function stageKey(record: KeyRecord): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

/** The record a lock entry was made from, to compare with the current one. */
export function recordOfLock(entry: LockEntry, outsFlags: KeyRecord['outs']): KeyRecord {
  return {
    v: KEY_VERSION,
    ...(entry.cmd ? { cmd: entry.cmd } : {}),
    ...(entry.uses ? { uses: entry.uses, with: entry.with } : {}),
    ...(entry.backend ? { backend: entry.backend } : {}),
    ...(entry.actionVersion !== undefined ? { actionVersion: entry.actionVersion } : {}),
    deps: { ...entry.deps },
    params: (entry.params ?? {}) as Record<string, Record<string, unknown>>,
    env: { ...(entry.env ?? {}) },
    wdir: entry.wdir ?? '.',
    outs: outsFlags,
    ...(entry.if ? { if: entry.if } : {}),
  };
}

/** The lock entry for a stage that ran (or was restored) with this record: the inverse of recordOfLock. */
export function lockEntryOf(key: string, record: KeyRecord, outs: Readonly<Record<string, LockOut>>): LockEntry {
  return {
    key,
    ...(record.cmd ? { cmd: record.cmd } : {}),
    ...(record.uses ? { uses: record.uses, with: record.with } : {}),
    ...(record.backend ? { backend: record.backend } : {}),
    ...(record.actionVersion !== undefined ? { actionVersion: record.actionVersion } : {}),
    deps: record.deps,
    ...(Object.keys(record.params).length > 0 ? { params: record.params } : {}),
    ...(Object.keys(record.env).length > 0 ? { env: record.env } : {}),
    ...(record.wdir !== '.' ? { wdir: record.wdir } : {}),
    ...(record.if ? { if: record.if } : {}),
    outs,
  };
}
