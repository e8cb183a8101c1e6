// Evaluating a stage's `if:` during a run (and for status): the metrics it
// names are read from the metrics files of the upstream stages, as they are in
// the workspace once those stages are done. A file that is missing, unreadable
// or lacks the key is an error naming the file and key — a condition never
// silently comes out false.
import { readFileSync, lstatSync } from 'node:fs';
import { conditionStage, type ProjectGraph } from '../graph/build.js';
import type { Stage } from '../pipeline/model.js';
import { evaluateCondition, metricValue, type ConditionRecord } from '../pipeline/condition.js';
import { parseData } from '../compare/snapshot.js';
import { flattenKeys } from '../pipeline/params.js';
import { closest } from '../util/suggest.js';
import type { Workspace } from '../cache/workspace.js';
import type { RootGuard } from '../util/root-guard.js';

export type ConditionOutcome = { readonly record: ConditionRecord } | { readonly error: string };

/** Largest metrics file a condition reads. */
const MAX_METRICS_BYTES = 16 * 1024 * 1024;

export function evaluateStageCondition(g: ProjectGraph, ws: Workspace, guard: RootGuard, stage: Stage): ConditionOutcome {
  const parsed = new Map<string, { data: unknown } | { error: string }>();
  const read = (path: string) => {
    let r = parsed.get(path);
    if (!r) {
      const abs = ws.abs(path);
      try {
        if (guard.escapes(abs)) r = { error: `metrics file ${path} leads outside the project root through a symbolic link` };
        else if (lstatSync(abs).size > MAX_METRICS_BYTES) r = { error: `metrics file ${path} is larger than ${MAX_METRICS_BYTES / 1024 / 1024} MiB` };
        else {
          const data = parseData(readFileSync(abs), path);
          r = 'error' in data ? { error: `metrics file ${path} cannot be read: ${data.error}` } : data;
        }
      } catch (e) {
        r = { error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? `metrics file ${path} is missing` : `metrics file ${path} cannot be read: ${(e as Error).message}` };
      }
      parsed.set(path, r);
    }
    return r;
  };
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
