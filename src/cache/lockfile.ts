// Lock files, pipelines/<stem>.lock: what each stage last ran with (its key and
// the inputs behind it) and what it produced. Deterministic YAML (sorted keys,
// no timestamps), written atomically after each successful stage, and checked
// against schemas/lock.schema.json when read.
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { stringify } from 'yaml';
import validateLock from '../generated/lock-validate.js';
import type { Diagnostic } from '../pipeline/diagnostic.js';
import { checkAgainst } from '../pipeline/schema-check.js';
import { readYamlFile } from '../pipeline/yaml-file.js';
import type { ParseCache } from '../pipeline/parse-cache.js';
import { displayPath } from '../pipeline/project.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { sortedDeep } from './canonical.js';
import type { ContentHash } from './hash.js';

export interface LockState {
  readonly hash: ContentHash;
  readonly size: number;
  /** Number of files, present only for directories (and globs). */
  readonly files?: number;
}

export interface LockOut extends LockState {
  readonly cache: boolean;
}

export interface LockEntry {
  readonly key: string;
  readonly cmd?: readonly string[];
  readonly uses?: string;
  readonly with?: unknown;
  /** null: the dep did not exist when the stage ran. */
  readonly deps: Readonly<Record<string, LockState | null>>;
  readonly params?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly wdir?: string;
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
  if (!read.file || read.diagnostics.some((d) => d.severity === 'error')) return { lock: empty, diagnostics: read.diagnostics };
  if (read.file.data === null) return { lock: empty, diagnostics: [] };
  const diagnostics = checkAgainst(validateLock, read.file);
  if (diagnostics.length > 0) return { lock: empty, diagnostics };
  return { lock: read.file.data as LockFileData, diagnostics: [] };
}

export function serializeLock(lock: LockFileData): string {
  return HEADER + stringify(sortedDeep(lock), { lineWidth: 0, sortMapEntries: true });
}

export function writeLockFile(path: string, lock: LockFileData, cache?: ParseCache): void {
  writeFileAtomic(path, serializeLock(lock));
  // These are the bytes just written: the next run need not parse them.
  cache?.set(path, JSON.parse(JSON.stringify(sortedDeep(lock))), true);
}
