// Evaluating a stage's `if:` during a run (and for status): the metrics it
// names are read from the metrics files of the upstream stages, as they are in
// the workspace once those stages are done. A file that is missing, unreadable
// or lacks the key is an error naming the file and key — a condition never
// silently comes out false. Also how a skip spreads downstream, and the words
// that explain it.
import { readFileSync, lstatSync } from 'node:fs';
import { conditionStage, edgeKey, type ProjectGraph } from '../graph/build.js';
import type { Stage, StageId } from '../pipeline/model.js';
import { conditionValuesText, evaluateCondition, metricValue, type ConditionRecord } from '../pipeline/condition.js';
import type { Reason } from './freshness.js';
import { parseData } from '../compare/snapshot.js';
import { flattenKeys } from '../pipeline/params.js';
import { closest } from '../util/suggest.js';
import type { Workspace } from '../cache/workspace.js';
import type { RootGuard } from '../util/root-guard.js';

export type ConditionOutcome = { readonly record: ConditionRecord } | { readonly error: string };

/** Largest metrics file a condition reads. */
const MAX_METRICS_BYTES = 16 * 1024 * 1024;

type Parsed = { data: unknown } | { error: string };

/**
 * Metrics files parsed so far, by absolute path, with the file's identity
 * (inode, size, mtime) when read: many conditions read one upstream file, and
 * it is parsed once until it changes.
 */
const parsedFiles = new Map<string, { id: string; parsed: Parsed }>();

function readMetrics(abs: string, path: string, guard: RootGuard): Parsed {
  try {
    if (guard.escapes(abs)) return { error: `metrics file ${path} leads outside the project root through a symbolic link` };
    const st = lstatSync(abs);
    if (st.size > MAX_METRICS_BYTES) return { error: `metrics file ${path} is larger than ${MAX_METRICS_BYTES / 1024 / 1024} MiB` };
    const id = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const known = parsedFiles.get(abs);
    if (known?.id === id) return known.parsed;
    const data = parseData(readFileSync(abs), path);
    const parsed: Parsed = 'error' in data ? { error: `metrics file ${path} cannot be read: ${data.error}` } : data;
    parsedFiles.set(abs, { id, parsed });
    return parsed;
  } catch (e) {
    return { error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? `metrics file ${path} is missing` : `metrics file ${path} cannot be read: ${(e as Error).message}` };
  }
}

export function evaluateStageCondition(g: ProjectGraph, ws: Workspace, guard: RootGuard, stage: Stage): ConditionOutcome {
  const read = (path: string) => readMetrics(ws.abs(path), path, guard);
  return evaluateCondition(stage.condition!, (name, key) => {
    const target = conditionStage(g.index, stage, name);
    if ('error' in target) return { error: target.error };
    const files = target.stage.outs.filter((o) => o.role === 'metrics' && !o.isDir).map((o) => o.path);
    const keys: string[] = [];
    for (const file of files) {
      const r = read(file);
      if ('error' in r) return { error: r.error };
      const found = metricValue(r.data, key);
      if (found.found) {
        if (typeof found.value === 'number' || typeof found.value === 'boolean') return { value: found.value };
        return { error: `${file}: "${key}" is ${found.value === null ? 'null' : typeof found.value === 'object' ? 'a list or mapping' : `a ${typeof found.value}`}, not a number or true/false` };
      }
      keys.push(...flattenKeys(r.data));
    }
    const hint = closest(key, keys);
    return { error: `${files.join(', ')} (of ${target.stage.id}) ${files.length > 1 ? 'have' : 'has'} no metric "${key}"${hint ? ` — did you mean "${hint}"?` : ''}` };
  });
}

/** Why a stage whose condition is false is skipped: the condition and the values it read. */
export function conditionFalseReason(record: ConditionRecord): Reason {
  const values = conditionValuesText(record);
  return { kind: 'condition', message: `condition false: if ${record.expr}${values ? ` (${values})` : ''}` };
}

/**
 * Whether skipping `from` skips `to`: it does through its outputs, metrics and
 * `needs`, not through a file its action only updates (the registry a skipped
 * register stage leaves as it was can still be read).
 */
export function skipReaches(g: ProjectGraph, from: string, to: string): boolean {
  return (g.reasons.get(edgeKey(from, to)) ?? []).some((r) => r.kind !== 'updates');
}

/** The condition a skipped upstream stage makes its downstream skip for. */
export const skippedUpstreamReason = (id: StageId): Reason => ({ kind: 'condition', message: `upstream ${id} skipped by its condition` });

/** The conditional stages' metric sources that are still to change (planning): the condition is decided after them. */
export function pendingConditionSources(g: ProjectGraph, stage: Stage, changing: ReadonlySet<StageId>): StageId[] {
  const out: StageId[] = [];
  for (const pred of g.graph.predecessors(stage.id) ?? []) {
    if (!changing.has(pred as StageId)) continue;
    if ((g.reasons.get(edgeKey(pred, stage.id)) ?? []).some((r) => r.kind === 'condition')) out.push(pred as StageId);
  }
  return out;
}
