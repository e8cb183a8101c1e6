// Machine and diagram renderings of the DAG: Graphviz dot, Mermaid flowchart
// and JSON (the same data for tools), plus the terminal rendering's input.
import type { Stage, StageId } from '../../pipeline/model.js';
import type { ProjectGraph } from '../build.js';
import { edgeKey } from '../build.js';
import { renderAscii } from './ascii.js';

export type DagFormat = 'ascii' | 'dot' | 'mermaid' | 'json';
export const DAG_FORMATS: readonly DagFormat[] = ['ascii', 'dot', 'mermaid', 'json'];

interface Selection {
  readonly g: ProjectGraph;
  readonly ids: readonly StageId[];
}

function edges({ g, ids }: Selection): [StageId, StageId][] {
  const chosen = new Set<string>(ids);
  const out: [StageId, StageId][] = [];
  for (const id of ids) for (const s of g.graph.successors(id) ?? []) if (chosen.has(s)) out.push([id, s as StageId]);
  return out;
}

function stage(g: ProjectGraph, id: StageId): Stage {
  return g.index.byId.get(id)!;
}

/** Group stage ids by pipeline, keeping order. */
function byPipeline(sel: Selection): Map<string, StageId[]> {
  const out = new Map<string, StageId[]>();
  for (const id of sel.ids) {
    const p = stage(sel.g, id).pipeline;
    out.set(p, [...(out.get(p) ?? []), id]);
  }
  return out;
}

/** An edge that exists only because a condition reads the upstream's metrics (drawn dashed). */
function conditionOnly(g: ProjectGraph, from: StageId, to: StageId): boolean {
  return g.reasons.get(edgeKey(from, to))!.every((r) => r.kind === 'condition');
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function renderDot(sel: Selection): string {
  const lines = ['digraph mlpipe {', '  rankdir=TB;', '  node [shape=box, style=rounded];'];
  for (const [pipeline, ids] of byPipeline(sel)) {
    lines.push(`  subgraph ${quote(`cluster_${pipeline}`)} {`, `    label=${quote(pipeline)};`);
    for (const id of ids) {
      const s = stage(sel.g, id);
      lines.push(`    ${quote(id)} [label=${quote(s.condition ? `${s.name}\nif ${s.condition.text}` : s.name)}];`);
    }
    lines.push('  }');
  }
  for (const [a, b] of edges(sel)) lines.push(`  ${quote(a)} -> ${quote(b)}${conditionOnly(sel.g, a, b) ? ' [style=dashed, label="if"]' : ''};`);
  lines.push('}');
  return lines.join('\n');
}

export function renderMermaid(sel: Selection): string {
  const nodeId = new Map(sel.ids.map((id, i) => [id, `s${i}`]));
  const text = (s: string) => `"${s.replace(/"/g, '#quot;')}"`;
  const lines = ['flowchart TD'];
  for (const [pipeline, ids] of byPipeline(sel)) {
    lines.push(`  subgraph ${pipeline.replace(/[^A-Za-z0-9_]/g, '_')}[${text(pipeline)}]`);
    for (const id of ids) {
      const s = stage(sel.g, id);
      lines.push(`    ${nodeId.get(id)}[${text(s.condition ? `${s.name}<br/>if ${s.condition.text}` : s.name)}]`);
    }
    lines.push('  end');
  }
  for (const [a, b] of edges(sel)) lines.push(`  ${nodeId.get(a)} ${conditionOnly(sel.g, a, b) ? '-. if .->' : '-->'} ${nodeId.get(b)}`);
  return lines.join('\n');
}

export function dagJson(sel: Selection): unknown {
  const { g } = sel;
  return {
    stages: sel.ids.map((id) => {
      const s = stage(g, id);
      const pos = s.loc.file.position(s.loc.start);
      return {
        id,
        pipeline: s.pipeline,
        name: s.name,
        group: s.group,
        ...(s.instance !== undefined ? { instance: s.instance } : {}),
        ...(s.desc !== undefined ? { desc: s.desc } : {}),
        ...(s.cmd ? { cmd: s.cmd.map((c) => c.value) } : {}),
        ...(s.uses ? { uses: s.uses.value } : {}),
        deps: s.deps.map((d) => d.path),
        outs: s.outs.map((o) => ({ path: o.path, role: o.role, cache: o.cache, persist: o.persist })),
        params: s.params.map((p) => ({ file: p.file, key: p.key })),
        ...(s.condition ? { if: s.condition.text } : {}),
        file: s.loc.file.path,
        line: pos.line,
      };
    }),
    edges: edges(sel).map(([from, to]) => ({
      from,
      to,
      via: g.reasons.get(edgeKey(from, to))!.map((r) => (r.kind === 'path' ? { dep: r.dep.path, out: r.out.path } : r.kind === 'updates' ? { dep: r.dep.path, updates: true } : r.kind === 'condition' ? { condition: r.ref.text } : { needs: r.need.value })),
    })),
  };
}

export function renderDag(format: DagFormat, sel: Selection): string {
  switch (format) {
    case 'ascii': {
      const many = new Set(sel.ids.map((id) => stage(sel.g, id).pipeline)).size > 1;
      const rank = new Map(sel.g.order.map((id, i) => [id, i]));
      return renderAscii(
        sel.ids.map((id) => {
          const s = stage(sel.g, id);
          const label = many ? id : s.name;
          // What each stage reads from, by name: readable however the lanes cross.
          const from = [...(sel.g.graph.predecessors(id) ?? [])].sort((a, b) => (rank.get(a as StageId) ?? 0) - (rank.get(b as StageId) ?? 0)).map((p) => (stage(sel.g, p as StageId).pipeline === s.pipeline && !many ? stage(sel.g, p as StageId).name : p));
          const detail = [from.length > 0 ? `← ${from.join(', ')}` : '', s.condition ? `(if ${s.condition.text})` : ''].filter(Boolean).join('  ');
          return { id, label, ...(detail ? { detail } : {}) };
        }),
        sel.g.graph,
      );
    }
    case 'dot':
      return renderDot(sel);
    case 'mermaid':
      return renderMermaid(sel);
    case 'json':
      return JSON.stringify(dagJson(sel), null, 2);
  }
}
