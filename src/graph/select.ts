// Target selection: which stages a command acts on. Targets name pipelines,
// stages, groups or instances; the selection is the targets with everything
// upstream (default), with everything downstream, or the targets alone.
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import type { StageId } from '../pipeline/model.js';
import type { ProjectGraph } from './build.js';

export type SelectionMode = 'upstream' | 'downstream' | 'single';

export function selectStages(g: ProjectGraph, targets: readonly string[], mode: SelectionMode): { ids: StageId[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  if (targets.length === 0) return { ids: topoOrder(g, new Set(g.order)), diagnostics };
  const chosen = new Set<StageId>();
  for (const target of targets) {
    const r = g.index.resolve(target);
    if (!r.ok) {
      diagnostics.push(error('unknown-target', r.message, undefined, r.suggestion ? { suggestion: r.suggestion } : {}));
      continue;
    }
    for (const id of r.ids) chosen.add(id);
  }
  if (mode !== 'single') {
    // Reachability over predecessors (upstream) or successors (downstream).
    const next = mode === 'upstream' ? (n: string) => g.graph.predecessors(n) : (n: string) => g.graph.successors(n);
    const stack = [...chosen];
    while (stack.length > 0) {
      for (const m of next(stack.pop()!) ?? []) {
        if (!chosen.has(m as StageId)) {
          chosen.add(m as StageId);
          stack.push(m as StageId);
        }
      }
    }
  }
  return { ids: topoOrder(g, chosen), diagnostics };
}

/**
 * Topological order of a subset, depth-first so that a chain stays together
 * and ties keep declaration order. Deterministic for a given project.
 */
export function topoOrder(g: ProjectGraph, subset: ReadonlySet<StageId>): StageId[] {
  const rank = new Map(g.order.map((id, i) => [id, i]));
  const byRank = (a: string, b: string) => rank.get(a as StageId)! - rank.get(b as StageId)!;
  const waiting = new Map<string, number>();
  for (const id of subset) waiting.set(id, (g.graph.predecessors(id) ?? []).filter((p) => subset.has(p as StageId)).length);
  const ready: StageId[] = [...subset].filter((id) => waiting.get(id) === 0).sort(byRank).reverse();
  const out: StageId[] = [];
  while (ready.length > 0) {
    const id = ready.pop()!;
    out.push(id);
    const released: StageId[] = [];
    for (const s of g.graph.successors(id) ?? []) {
      if (!subset.has(s as StageId)) continue;
      const left = waiting.get(s)! - 1;
      waiting.set(s, left);
      if (left === 0) released.push(s as StageId);
    }
    ready.push(...released.sort(byRank).reverse());
  }
  return out;
}
