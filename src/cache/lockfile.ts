// Lock files, pipelines/<stem>.lock: what each stage last ran with (its key and
// the inputs behind it) and what it produced. Deterministic YAML (sorted keys,
// no timestamps), written atomically after each successful stage, and checked
// against schemas/lock.schema.json when read.
import type { ConditionRecord } from '../pipeline/condition.js';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import validateLock from '../generated/lock-validate.js';
import type { Diagnostic } from '../pipeline/diagnostic.js';
import { checkAgainst } from '../pipeline/schema-check.js';
import { readYamlFile } from '../pipeline/yaml-file.js';
import type { ParseCache } from '../pipeline/parse-cache.js';
import { displayPath } from '../pipeline/project.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { canonicalJson } from './canonical.js';
import type { ContentHash } from './hash.js';

export interface LockState {
  readonly hash: ContentHash;
  readonly size: number;
  /** Number of files, present only for directories (and globs). */
  readonly files?: number;
}

export interface LockOut extends LockState {
  readonly cache: boolean;
  /** Declared under metrics: or plots: (absent for plain outputs), so a revision's metrics files are known from its lock files. */
  readonly role?: 'metrics' | 'plots';
  /**
   * Directory outputs: the paths inside (relative to the directory) that other
   * stages read, with their states — so a consumer's dep on one can be checked
   * without the directory's manifest, which only the cache holds.
   */
  readonly inner?: Readonly<Record<string, LockState>>;
}

export interface LockEntry {
  readonly key: string;
  readonly cmd?: readonly string[];
  readonly uses?: string;
  readonly with?: unknown;
  /** ML actions: the TensorFlow.js backend they ran on. */
  readonly backend?: string;
  /** Built-in actions: the implementation's version. */
  readonly actionVersion?: number;
  /** null: the dep did not exist when the stage ran. */
  readonly deps: Readonly<Record<string, LockState | null>>;
  readonly params?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly wdir?: string;
  /** A stage with `if:`: what its condition read and came to (false: the stage was skipped, and outs is empty). */
  readonly if?: ConditionRecord;
  readonly outs: Readonly<Record<string, LockOut>>;
}

export interface LockFileData {
  readonly schema: 1;
  readonly stages: Record<string, LockEntry>;
}

const HEADER = '# Written by mlpipe: what each stage last ran with and produced. Commit it with the pipeline.\n';

/** pipelines/iris.yaml → pipelines/iris.lock */
export function lockPathFor(pipelineFile: string): string {
  return join(dirname(pipelineFile), `${basename(pipelineFile, extname(pipelineFile))}.lock`);
}

export function readLockFile(root: string, path: string, cache?: ParseCache): { lock: LockFileData; diagnostics: Diagnostic[] } {
  const empty: LockFileData = { schema: 1, stages: {} };
  if (!existsSync(path)) return { lock: empty, diagnostics: [] };
  const read = readYamlFile(path, displayPath(root, path), cache);
  if (!read.file || read.diagnostics.some((d) => d.severity === 'error')) return { lock: empty, diagnostics: read.diagnostics.map(withLockSuggestion) };
  if (read.file.data === null) return { lock: empty, diagnostics: [] };
  const diagnostics = checkAgainst(validateLock, read.file);
  if (diagnostics.length > 0) return { lock: empty, diagnostics: diagnostics.map(withLockSuggestion) };
  return { lock: read.file.data as LockFileData, diagnostics: [] };
}

/** Lock files are mlpipe's to write: the way out of a broken one is to restore or regenerate it. */
function withLockSuggestion(d: Diagnostic): Diagnostic {
  return d.suggestion ? d : { ...d, suggestion: 'lock files are written by "mlpipe run": restore this one from git (git checkout -- FILE), or delete it and run again' };
}

/** A string as a plain YAML scalar when that cannot be misread, else JSON (a valid YAML double-quoted scalar). */
function scalar(v: unknown): string {
  if (typeof v === 'string') {
    const plain = /^[A-Za-z_./][A-Za-z0-9_./@+-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(v);
    return plain ? v : JSON.stringify(v);
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Block-style YAML with sorted keys, written directly: the yaml library's
 * stringify costs ~20 ms per 100 stages, and the lock is rewritten as stages
 * finish. Values that are not plain mappings of mappings (lists of commands,
 * param values, action inputs) are written in JSON flow style, which is YAML.
 */
function emit(value: unknown, indent: string, out: string[]): void {
  for (const key of Object.keys(value as Record<string, unknown>).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      out.push(`${indent}${scalar(key)}:\n`);
      emit(v, `${indent}  `, out);
    } else if (Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'string')) {
      out.push(`${indent}${scalar(key)}:\n`);
      for (const e of v) out.push(`${indent}  - ${scalar(e)}\n`);
    } else {
      out.push(`${indent}${scalar(key)}: ${scalar(canonical(v))}\n`);
    }
  }
}

/** Sorted keys inside flow values too, so equal data writes equal bytes. */
function canonical(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? JSON.parse(canonicalJson(v)) : v;
}

export function serializeLock(lock: LockFileData): string {
  const out: string[] = [HEADER];
  emit(lock, '', out);
  return out.join('');
}

export function writeLockFile(path: string, lock: LockFileData): void {
  writeFileAtomic(path, serializeLock(lock));
}
