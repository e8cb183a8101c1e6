// Why a stage is stale, in words a user understands, and what to do about it:
// nothing (fresh), restore its outputs from the cache (same key, or a key that
// ran before), or run it. Pure: reads the workspace and cache, writes nothing.
import { canonicalJson } from '../cache/canonical.js';
import type { ContentHash } from '../cache/hash.js';
import { WHOLE_FILE, keyRecord, recordOfLock, stageKey, type KeyRecord } from '../cache/key.js';
import type { LockEntry, LockOut } from '../cache/lockfile.js';
import type { RunCache } from '../cache/run-cache.js';
import type { CacheStore } from '../cache/store.js';
import type { Workspace } from '../cache/workspace.js';
import { updatesOf } from '../actions/registry.js';
import type { Stage, StageId } from '../pipeline/model.js';
import { conditionValuesText, type ConditionRecord } from '../pipeline/condition.js';

export interface Reason {
  /** never-run | cmd | action | dep | param | env | wdir | condition | outs | output-missing | output-modified | always-run | forced | upstream | format */
  readonly kind: string;
  readonly message: string;
}

export type Verdict =
  | { readonly action: 'fresh'; readonly key: string; readonly record: KeyRecord }
  | { readonly action: 'frozen'; readonly reasons: Reason[] }
  | { readonly action: 'restore'; readonly source: 'lock' | 'run-cache'; readonly key: string; readonly record: KeyRecord; readonly outs: Readonly<Record<string, LockOut>>; readonly reasons: Reason[] }
  | { readonly action: 'run'; readonly key: string; readonly record: KeyRecord; readonly reasons: Reason[] };

export interface FreshnessContext {
  readonly ws: Workspace;
  readonly store: CacheStore;
  readonly runCache: RunCache;
  /** Which stage produces a path, to say "upstream X produced new data". */
  readonly producerOf: (depPath: string) => StageId | undefined;
  /** Planning only (status, --dry-run): hash the cache objects a restore would use, so "restorable" is checked, not assumed. */
  readonly verifyObjects?: boolean;
}

function short(v: unknown): string {
  const s = typeof v === 'string' ? v : canonicalJson(v);
  return s === undefined ? 'unset' : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Most changed action inputs named one by one. */
const MAX_LISTED = 5;

interface ValueChange {
  readonly key: string;
  readonly old: unknown;
  readonly new: unknown;
}

/** Leaf differences between two values, by dotted key (list items by index). */
function valueChanges(a: unknown, b: unknown, key: string, out: ValueChange[] = []): ValueChange[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) valueChanges(a[k], b[k], Array.isArray(a) ? `${key}[${k}]` : `${key}.${k}`, out);
  } else if (canonicalJson(a) !== canonicalJson(b)) out.push({ key, old: a, new: b });
  return out;
}

/** The params whose values differ between two records. */
function paramChanges(before: KeyRecord, now: KeyRecord): ValueChange[] {
  const out: ValueChange[] = [];
  for (const file of new Set([...Object.keys(before.params), ...Object.keys(now.params)])) {
    const a = before.params[file] ?? {};
    const b = now.params[file] ?? {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) if (canonicalJson(a[key]) !== canonicalJson(b[key])) out.push({ key, old: a[key], new: b[key] });
  }
  return out;
}

/** True when putting the changed params' old values back into `now` gives `before`: the change is the params'. */
function explainedByParams(before: unknown, now: unknown, params: readonly ValueChange[]): boolean {
  if (params.length === 0) return false;
  const text = (v: unknown) => (typeof v === 'string' ? v : canonicalJson(v) ?? '');
  let undone = canonicalJson(now) ?? '';
  for (const p of params) {
    if (p.old === undefined || p.new === undefined) continue;
    // Whole values (a number input) and substrings (a command, ">= 0.9") both.
    if (canonicalJson(now) === canonicalJson(p.new) && canonicalJson(before) === canonicalJson(p.old)) return true;
    undone = undone.split(JSON.stringify(text(p.new)).slice(1, -1)).join(JSON.stringify(text(p.old)).slice(1, -1));
  }
  return undone === canonicalJson(before);
}

/** Differences between the record of the last run and the current one. */
export function explain(before: KeyRecord, now: KeyRecord, ctx: FreshnessContext): Reason[] {
  const reasons: Reason[] = [];
  const changedParams = paramChanges(before, now);
  // A ${...} of a changed param changes the command and the action's inputs too: that is one reason, the param.
  if (canonicalJson(before.cmd) !== canonicalJson(now.cmd) && !explainedByParams(before.cmd, now.cmd, changedParams)) reasons.push({ kind: 'cmd', message: 'command changed' });
  if (before.uses !== now.uses) reasons.push({ kind: 'action', message: `action: ${before.uses ?? 'none'} → ${now.uses ?? 'none'}` });
  else if (canonicalJson(before.with) !== canonicalJson(now.with)) {
    const inputs = valueChanges(before.with, now.with, 'with').filter((c) => !explainedByParams(c.old, c.new, changedParams));
    for (const c of inputs.slice(0, MAX_LISTED)) reasons.push({ kind: 'action', message: `${c.key}: ${short(c.old)} → ${short(c.new)}` });
    if (inputs.length > MAX_LISTED) reasons.push({ kind: 'action', message: `${inputs.length - MAX_LISTED} more inputs changed` });
  }
  if (before.actionVersion !== now.actionVersion && before.uses === now.uses) reasons.push({ kind: 'action', message: `${now.uses} implementation changed (version ${before.actionVersion ?? 'none'} → ${now.actionVersion ?? 'none'})` });
  if (before.backend !== now.backend) reasons.push({ kind: 'backend', message: `TensorFlow.js backend: ${before.backend ?? 'none'} → ${now.backend ?? 'none'}` });
  for (const path of new Set([...Object.keys(before.deps), ...Object.keys(now.deps)])) {
    const was = before.deps[path];
    const is = now.deps[path];
    if (!(path in before.deps)) reasons.push({ kind: 'dep', message: `dep added: ${path}` });
    else if (!(path in now.deps)) reasons.push({ kind: 'dep', message: `dep removed: ${path}` });
    else if (canonicalJson(was) !== canonicalJson(is)) {
      const producer = ctx.producerOf(path);
      if (is === null) reasons.push({ kind: 'dep', message: `dep missing: ${path}${producer ? ` (${producer} makes it)` : ''}` });
      else if (producer) reasons.push({ kind: 'upstream', message: `upstream ${producer} produced new data: ${path}` });
      else reasons.push({ kind: 'dep', message: `dep changed: ${path}` });
    }
  }
  for (const file of new Set([...Object.keys(before.params), ...Object.keys(now.params)])) {
    const a = before.params[file] ?? {};
    const b = now.params[file] ?? {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const name = key === WHOLE_FILE ? file : key;
      if (!(key in a)) reasons.push({ kind: 'param', message: `param added: ${name}` });
      else if (!(key in b)) reasons.push({ kind: 'param', message: `param removed: ${name}` });
      else if (canonicalJson(a[key]) !== canonicalJson(b[key])) reasons.push({ kind: 'param', message: key === WHOLE_FILE ? `params file changed: ${file}` : `param ${key}: ${short(a[key])} → ${short(b[key])}` });
    }
  }
  if (canonicalJson(before.env) !== canonicalJson(now.env)) {
    const names = new Set([...Object.keys(before.env), ...Object.keys(now.env)]);
    for (const n of names) if (before.env[n] !== now.env[n]) reasons.push({ kind: 'env', message: `env ${n} changed` });
  }
  if (before.wdir !== now.wdir) reasons.push({ kind: 'wdir', message: `wdir: ${before.wdir} → ${now.wdir}` });
  reasons.push(...conditionChanges(before.if, now.if));
  if (canonicalJson(Object.keys(before.outs).sort()) !== canonicalJson(Object.keys(now.outs).sort())) reasons.push({ kind: 'outs', message: 'outputs changed' });
  return reasons;
}

/** How a condition's record changed: it became true, or a metric it read changed (params are reported as params). */
function conditionChanges(before: ConditionRecord | undefined, now: ConditionRecord | undefined): Reason[] {
  if (!before || !now) return before === now ? [] : [{ kind: 'condition', message: now ? `condition added: if ${now.expr}` : 'condition removed' }];
  if (before.expr !== now.expr) return [{ kind: 'condition', message: `condition changed: if ${before.expr} → if ${now.expr}` }];
  if (!before.result && now.result) return [{ kind: 'condition', message: `condition now true (skipped before): ${conditionValuesText(now)}` }];
  const reasons: Reason[] = [];
  for (const key of Object.keys(now.values)) {
    if (!key.startsWith('stages.')) continue;
    if (canonicalJson(before.values[key]) !== canonicalJson(now.values[key])) reasons.push({ kind: 'condition', message: `condition value ${key}: ${short(before.values[key])} → ${short(now.values[key])}` });
  }
  return reasons;
}

/** Output paths whose workspace content differs from the lock, and whether the cache can put them back. */
function outputProblems(outs: Readonly<Record<string, LockOut>>, ctx: FreshnessContext): { reasons: Reason[]; restorable: boolean } {
  const reasons: Reason[] = [];
  let restorable = true;
  for (const [path, out] of Object.entries(outs)) {
    const s = ctx.ws.state(path);
    if (s.kind !== 'missing' && s.hash === out.hash) continue;
    // Every output's bytes are kept in the cache, "cache: false" ones too (they are
    // small metric files meant for git), so any of them can be put back.
    const can = ctx.store.restorable(out.hash as ContentHash, out.files !== undefined, ctx.verifyObjects);
    if (can.state !== 'yes') restorable = false;
    const what = s.kind === 'missing' ? 'output missing' : 'output modified';
    const how = can.state === 'yes' ? 'restorable from cache' : can.state === 'corrupt' ? `corrupt cache object ${can.bad}` : 'not in the cache';
    reasons.push({ kind: s.kind === 'missing' ? 'output-missing' : 'output-modified', message: `${what}: ${path} (${how})` });
  }
  return { reasons, restorable };
}

/**
 * Whether recorded outputs are exactly the stage's declared ones. Lock files
 * and run-cache entries are files anyone can edit: only paths the validated
 * pipeline declares are ever restored, whatever a record says.
 */
export function declaresOutputs(outs: Readonly<Record<string, LockOut>>, declared: KeyRecord['outs']): boolean {
  const recorded = Object.keys(outs);
  return recorded.length === Object.keys(declared).length && recorded.every((p) => Object.hasOwn(declared, p));
}

export function evaluate(stage: Stage, entry: LockEntry | undefined, ctx: FreshnessContext, force: boolean, condition?: ConditionRecord): Verdict {
  if (stage.frozen) return { action: 'frozen', reasons: [{ kind: 'frozen', message: 'frozen' }] };
  const record = keyRecord(stage, ctx.ws, condition);
  const key = stageKey(record);
  if (force) return { action: 'run', key, record, reasons: [{ kind: 'forced', message: 'forced' }] };
  if (stage.alwaysRun) return { action: 'run', key, record, reasons: [{ kind: 'always-run', message: 'always runs' }] };
  if (entry && entry.key === key && !declaresOutputs(entry.outs, record.outs)) {
    return { action: 'run', key, record, reasons: [{ kind: 'outs', message: 'the lock entry records other outputs than the stage declares' }] };
  }
  if (entry && entry.key === key) {
    const outs = outputProblems(entry.outs, ctx);
    if (outs.reasons.length === 0) return { action: 'fresh', key, record };
    if (outs.restorable) return { action: 'restore', source: 'lock', key, record, outs: entry.outs, reasons: outs.reasons };
    return { action: 'run', key, record, reasons: outs.reasons };
  }
  let reasons: Reason[];
  if (!entry) reasons = [{ kind: 'never-run', message: 'never run' }];
  else {
    reasons = explain(recordOfLock(entry, record.outs), record, ctx);
    if (reasons.length === 0) reasons = [{ kind: 'format', message: 'key format changed' }];
  }
  // An action that changes things outside its outputs (the model registry) runs
  // again rather than having its outputs put back from an earlier run.
  const cached = updatesOf(stage).length > 0 ? undefined : ctx.runCache.get(key);
  if (cached && declaresOutputs(cached.outs, record.outs) && Object.values(cached.outs).every((o) => ctx.store.canRestore(o.hash as ContentHash, o.files !== undefined, ctx.verifyObjects))) {
    return { action: 'restore', source: 'run-cache', key, record, outs: cached.outs, reasons };
  }
  return { action: 'run', key, record, reasons };
}
