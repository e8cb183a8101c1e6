// Builds one DAG over the stages of every pipeline file: an edge from each stage
// that outputs a path equal to, inside or containing a dep of another stage, and
// from each "needs". Rejects what cannot run: overlapping outputs, a stage's own
// output as its dep, deps that nothing provides, unknown needs, cycles.
import { Graph } from '@dagrejs/graphlib';
import picomatch from 'picomatch';
import { globSync } from 'tinyglobby';
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import type { DepSpec, Located, OutputSpec, Pipeline, Stage, StageId } from '../pipeline/model.js';
import type { ConditionRef } from '../pipeline/condition.js';
import { DirListing, isInside } from '../pipeline/paths.js';
import { updatesOf } from '../actions/registry.js';
import { closest } from '../util/suggest.js';
import { PathIndex } from './path-index.js';
import { checkModelRefs } from './model-refs.js';
import { StageIndex } from './stage-index.js';

export type EdgeReason =
  | { readonly kind: 'path'; readonly dep: DepSpec; readonly out: OutputSpec }
  | { readonly kind: 'needs'; readonly need: Located<string> }
  /** The dep is a file the upstream stage's action changes outside its outputs (the model registry). */
  | { readonly kind: 'updates'; readonly dep: DepSpec }
  /** The stage's `if:` reads the upstream stage's metrics. */
  | { readonly kind: 'condition'; readonly ref: ConditionRef };

export interface ProjectGraph {
  /** Nodes are stage ids; an edge runs from upstream to downstream. */
  readonly graph: Graph;
  readonly index: StageIndex;
  /** Stages in declaration order (file order, then stage order). */
  readonly order: readonly StageId[];
  readonly reasons: ReadonlyMap<string, readonly EdgeReason[]>;
}

interface Produced {
  readonly stage: Stage;
  readonly out: OutputSpec;
}

export function edgeKey(from: string, to: string): string {
  return `${from}\0${to}`;
}

function relation(a: string, b: string): 'equal' | 'inside' | 'contains' | undefined {
  if (a === b) return 'equal';
  if (isInside(a, b)) return 'inside';
  if (isInside(b, a)) return 'contains';
  return undefined;
}

/** Outputs that a dep (a path or a glob) reads. */
function producersOf(dep: DepSpec, outputs: PathIndex<Produced>): Produced[] {
  if (!dep.glob) return outputs.overlapping(dep.path);
  const { base } = picomatch.scan(dep.path);
  const matches = picomatch(dep.path, { dot: true });
  const deep = dep.path.includes('**');
  const above = base === '' ? [] : outputs.atOrAbove(base);
  const below = (base === '' ? [] : outputs.below(base)).filter((p) => matches(p.out.path) || p.out.isDir || deep);
  return [...above, ...below];
}

export function buildGraph(root: string, pipelines: readonly Pipeline[], listing: DirListing = new DirListing(root)): { graph: ProjectGraph; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const stages = pipelines.flatMap((p) => p.stages);
  const index = new StageIndex(stages);
  const graph = new Graph({ directed: true });
  const reasons = new Map<string, EdgeReason[]>();
  for (const s of stages) graph.setNode(s.id, s);

  const addEdge = (from: StageId, to: StageId, reason: EdgeReason) => {
    const key = edgeKey(from, to);
    const list = reasons.get(key);
    if (list) list.push(reason);
    else {
      reasons.set(key, [reason]);
      graph.setEdge(from, to);
    }
  };

  // Outputs: no two may overlap, in one stage or across stages.
  const outputs = new PathIndex<Produced>();
  for (const stage of stages) {
    for (const out of stage.outs) {
      const clash = outputs.overlapping(out.path)[0];
      if (clash) {
        const rel = relation(out.path, clash.out.path);
        const how = rel === 'equal' ? 'the same output' : rel === 'inside' ? `an output inside "${clash.out.path}"` : `an output that contains "${clash.out.path}"`;
        const who = clash.stage === stage ? 'this stage' : clash.stage.id;
        diagnostics.push(
          error('overlapping-outputs', `"${out.path}" is ${how}, already written by ${who}`, out.loc, {
            suggestion: 'each path is written by one stage: split the output, or merge the stages',
            notes: [{ message: `${clash.stage.id} declares "${clash.out.path}" here`, location: clash.out.loc }],
          }),
        );
        continue;
      }
      outputs.add(out.path, { stage, out });
    }
  }

  // Files actions change outside their outputs (registry/<name>.yaml of a
  // register stage): a stage depending on one runs after the stage changing it.
  const updaters = new Map<string, Stage[]>();
  for (const stage of stages) for (const path of updatesOf(stage)) updaters.set(path, [...(updaters.get(path) ?? []), stage]);

  let allOutputs: string[] | undefined;
  for (const stage of stages) {
    for (const dep of stage.deps) {
      const own = stage.outs.find((o) => (dep.glob ? picomatch(dep.path, { dot: true })(o.path) || isInside(o.path, picomatch.scan(dep.path).base) : relation(dep.path, o.path)));
      if (own) {
        diagnostics.push(
          error('output-is-dep', `dep "${dep.path}" overlaps this stage's own output "${own.path}"`, dep.loc, {
            suggestion: 'a stage cannot read what it writes; move the output, or split the stage in two',
            notes: [{ message: 'the output is declared here', location: own.loc }],
          }),
        );
        continue;
      }
      const producers = producersOf(dep, outputs).filter((p) => p.stage !== stage);
      for (const p of producers) addEdge(p.stage.id, stage.id, { kind: 'path', dep, out: p.out });
      const updating = (dep.glob ? undefined : updaters.get(dep.path)) ?? [];
      for (const u of updating) if (u !== stage) addEdge(u.id, stage.id, { kind: 'updates', dep });
      if (producers.length === 0 && updating.length === 0 && !onDisk(root, dep, listing)) {
        allOutputs ??= stages.flatMap((s) => s.outs.map((o) => o.path));
        const hint = closest(dep.path, allOutputs);
        diagnostics.push(
          error('missing-dep', `dep "${dep.path}" ${dep.glob ? 'matches no file' : 'does not exist'}, and no stage outputs it`, dep.loc, {
            suggestion: hint ? `did you mean "${hint}", an output of another stage?` : 'create the file, or add the stage that makes it',
          }),
        );
      }
    }
    for (const need of stage.needs) {
      const r = index.resolve(need.value, need.value.includes(':') ? undefined : stage.pipeline);
      if (!r.ok) {
        diagnostics.push(error('unknown-stage', `needs "${need.value}": ${r.message}`, need.loc, r.suggestion ? { suggestion: r.suggestion } : {}));
        continue;
      }
      for (const id of r.ids) {
        if (id === stage.id) diagnostics.push(error('cycle', `stage "${stage.id}" needs itself`, need.loc));
        else addEdge(id, stage.id, { kind: 'needs', need });
      }
    }
  }

  for (const stage of stages) {
    for (const ref of stage.condition?.refs ?? []) {
      if (ref.source.kind !== 'metric') continue;
      const r = conditionStage(index, stage, ref.source.stage);
      if ('error' in r) diagnostics.push(error('unknown-stage', `\${${ref.text}}: ${r.error}`, ref.loc, r.suggestion ? { suggestion: r.suggestion } : {}));
      else if (r.stage === stage) diagnostics.push(error('cycle', `stage "${stage.id}" cannot read its own metrics in its condition`, ref.loc, { suggestion: 'a condition reads the metrics of stages that run before this one' }));
      else addEdge(r.stage.id, stage.id, { kind: 'condition', ref });
    }
  }

  diagnostics.push(...cycleDiagnostics(graph, reasons, stages.map((s) => s.id)));
  diagnostics.push(...checkModelRefs(root, pipelines));
  return { graph: { graph, index, order: stages.map((s) => s.id), reasons }, diagnostics };
}

/**
 * The one stage whose metrics a condition reference names ("monitor" in the
 * stage's pipeline, or "pipeline:stage"), which must declare a metrics file.
 */
export function conditionStage(index: StageIndex, stage: Stage, name: string): { stage: Stage } | { error: string; suggestion?: string } {
  const r = index.resolve(name, name.includes(':') ? undefined : stage.pipeline);
  if (!r.ok) {
    // Not in this pipeline: perhaps a stage of another one ("pipeline:stage").
    const elsewhere = name.includes(':') || r.message.includes('did you mean') ? undefined : closest(name, [...index.byId.values()].filter((s) => s.pipeline !== stage.pipeline).map((s) => s.name));
    const other = elsewhere === undefined ? undefined : [...index.byId.values()].find((s) => s.pipeline !== stage.pipeline && s.name === elsewhere);
    return { error: r.message, ...(other ? { suggestion: `a stage of another pipeline is named as pipeline:stage — \${stages.${other.id}.metrics.…}` } : r.suggestion ? { suggestion: r.suggestion } : {}) };
  }
  if (r.ids.length > 1) return { error: `"${name}" fans out into ${r.ids.length} stages; a condition reads the metrics of one`, suggestion: `name one instance, e.g. ${r.ids[0]!.slice(r.ids[0]!.indexOf(':') + 1)}` };
  const target = index.byId.get(r.ids[0]!)!;
  if (!target.outs.some((o) => o.role === 'metrics' && !o.isDir)) {
    const withMetrics = [...index.byId.values()].filter((s) => s.pipeline === stage.pipeline && s !== stage && s.outs.some((o) => o.role === 'metrics' && !o.isDir)).map((s) => s.name);
    const hint = closest(name, withMetrics);
    return {
      error: `stage ${target.id} declares no metrics file${hint ? ` — did you mean "${hint}"?` : ''}`,
      suggestion: withMetrics.length > 0 ? `stages with metrics files: ${withMetrics.join(', ')}; or list ${target.name}'s metrics file under its "metrics:"` : `list ${target.name}'s metrics file under its "metrics:"`,
    };
  }
  return { stage: target };
}

function onDisk(root: string, dep: DepSpec, listing: DirListing): boolean {
  if (!dep.glob) return listing.exists(dep.path);
  return globSync(dep.path, { cwd: root, dot: true, onlyFiles: false, followSymbolicLinks: false, ignore: ['.mlpipe/**', '.git/**'] }).length > 0;
}

/**
 * The node sets of the graph's cycles, found without recursion (graphlib's
 * Tarjan recurses once per node and overflows the stack on a 10,000-stage
 * chain). Kahn's algorithm removes everything that is not on or after a cycle;
 * every node left has a predecessor left, so walking predecessors from one of
 * them must come back to a node already seen: that loop is a cycle.
 */
export function findCycles(graph: Graph, order: readonly StageId[]): string[][] {
  const indegree = new Map<string, number>(order.map((id) => [id, (graph.predecessors(id) ?? []).length]));
  const queue = order.filter((id) => indegree.get(id) === 0) as string[];
  while (queue.length > 0) {
    for (const next of graph.successors(queue.pop()!) ?? []) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  const left = new Set(order.filter((id) => indegree.get(id)! > 0) as string[]);
  const onCycle = new Set<string>();
  const visited = new Set<string>();
  const cycles: string[][] = [];
  for (const start of left) {
    if (visited.has(start)) continue;
    const path: string[] = [];
    const at = new Map<string, number>();
    let n = start;
    while (!at.has(n) && !visited.has(n)) {
      at.set(n, path.length);
      path.push(n);
      n = (graph.predecessors(n) ?? []).find((p) => left.has(p))!;
    }
    for (const p of path) visited.add(p);
    if (at.has(n) && !onCycle.has(n)) {
      const cycle = path.slice(at.get(n)!);
      for (const c of cycle) onCycle.add(c);
      cycles.push(cycle);
    }
  }
  return cycles;
}

/** One diagnostic per cycle, listing every hop and pointing at each edge's YAML. */
function cycleDiagnostics(graph: Graph, reasons: Map<string, EdgeReason[]>, order: StageId[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const rank = new Map(order.map((id, i) => [id, i]));
  for (const component of findCycles(graph, order)) {
    const members = new Set(component);
    const start = [...component].sort((a, b) => rank.get(a as StageId)! - rank.get(b as StageId)!)[0]!;
    // Shortest way round from start back to start, inside the component.
    const previous = new Map<string, string>();
    const queue = [start];
    let found = false;
    while (queue.length > 0 && !found) {
      const n = queue.shift()!;
      for (const next of graph.successors(n) ?? []) {
        if (!members.has(next)) continue;
        if (next === start) {
          previous.set(start, n);
          found = true;
          break;
        }
        if (!previous.has(next)) {
          previous.set(next, n);
          queue.push(next);
        }
      }
    }
    const hops = [start];
    for (let n = previous.get(start)!; n !== start; n = previous.get(n)!) hops.unshift(n);
    hops.unshift(start);
    const notes = [];
    for (let i = 0; i + 1 < hops.length; i++) {
      const from = hops[i]!;
      const to = hops[i + 1]!;
      const reason = reasons.get(edgeKey(from, to))![0]!;
      notes.push(
        reason.kind === 'path'
          ? { message: `${to} reads "${reason.dep.path}", which ${from} outputs ("${reason.out.path}")`, location: reason.dep.loc }
          : reason.kind === 'updates'
            ? { message: `${to} reads "${reason.dep.path}", which ${from} updates`, location: reason.dep.loc }
            : reason.kind === 'condition'
              ? { message: `${to}'s condition reads the metrics of ${from}`, location: reason.ref.loc }
              : { message: `${to} needs ${from}`, location: reason.need.loc },
      );
    }
    out.push(
      error('cycle', `cycle: ${hops.join(' → ')}`, notes[0]!.location, {
        suggestion: 'break one of these edges: a stage cannot depend on its own results',
        notes,
      }),
    );
  }
  return out;
}
