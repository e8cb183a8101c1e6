// Text rendering of the DAG for terminals, in the style of `git log --graph`:
// one row per stage in topological order, edges as lanes that split where a
// stage feeds several others and merge where a stage reads from several.
import type { Graph } from '@dagrejs/graphlib';

export interface AsciiNode {
  readonly id: string;
  readonly label: string;
  /** Shown after the label when the row has room (cut with "…" to fit MAX_WIDTH). */
  readonly detail?: string;
}

/** Columns a row with a detail is kept within (a terminal's usual width). */
const MAX_WIDTH = 80;

type Lanes = (string | null)[];

function laneRow(lanes: Lanes, special: Map<number, string>, spanFrom: number, spanTo: number): string {
  let row = '';
  const width = Math.max(lanes.length, spanTo + 1);
  for (let i = 0; i < width; i++) {
    const inSpan = i > spanFrom && i < spanTo;
    const active = lanes[i] !== null && lanes[i] !== undefined;
    row += special.get(i) ?? (inSpan ? (active ? '┼' : '─') : active ? '│' : ' ');
    row += i >= spanFrom && i < spanTo ? '─' : ' ';
  }
  return row.trimEnd();
}

function trim(lanes: Lanes): void {
  while (lanes.length > 0 && lanes[lanes.length - 1] === null) lanes.pop();
}

/** Renders nodes (already in topological order) and the edges between them. */
export function renderAscii(nodes: readonly AsciiNode[], graph: Graph): string {
  const inSelection = new Set(nodes.map((n) => n.id));
  const rank = new Map(nodes.map((n, i) => [n.id, i]));
  const rows: { lanes: string; label?: string; detail?: string }[] = [];
  const lanes: Lanes = [];

  for (const node of nodes) {
    const merging = lanes.flatMap((t, i) => (t === node.id ? [i] : []));
    let col: number;
    if (merging.length === 0) {
      col = lanes.indexOf(null);
      if (col === -1) col = lanes.length;
      lanes[col] = node.id;
    } else {
      col = merging[0]!;
      if (merging.length > 1) {
        const last = merging[merging.length - 1]!;
        const special = new Map<number, string>([[col, '├']]);
        for (const i of merging.slice(1)) special.set(i, i === last ? '┘' : '┴');
        rows.push({ lanes: laneRow(lanes, special, col, last) });
        for (const i of merging.slice(1)) lanes[i] = null;
      }
    }
    rows.push({ lanes: laneRow(lanes, new Map([[col, '●']]), col, col), label: node.label, ...(node.detail ? { detail: node.detail } : {}) });

    const children = (graph.successors(node.id) ?? []).filter((c) => inSelection.has(c)).sort((a, b) => rank.get(a)! - rank.get(b)!);
    lanes[col] = children[0] ?? null;
    if (children.length > 1) {
      const slots: number[] = [];
      for (const child of children.slice(1)) {
        let slot = lanes.findIndex((t, i) => i > col && t === null);
        if (slot === -1) slot = Math.max(lanes.length, col + 1);
        lanes[slot] = child;
        slots.push(slot);
      }
      const last = Math.max(...slots);
      const special = new Map<number, string>([[col, '├']]);
      for (const i of slots) special.set(i, i === last ? '┐' : '┬');
      rows.push({ lanes: laneRow(lanes, special, col, last) });
    }
    trim(lanes);
  }

  const width = Math.max(0, ...rows.map((r) => r.lanes.length));
  return rows
    .map((r) => {
      if (r.label === undefined) return r.lanes;
      const line = `${r.lanes.padEnd(width)}  ${r.label}`;
      if (!r.detail) return line;
      const room = MAX_WIDTH - line.length - 2;
      if (room < 8) return line;
      return `${line}  ${r.detail.length <= room ? r.detail : `${r.detail.slice(0, room - 1)}…`}`;
    })
    .join('\n');
}
