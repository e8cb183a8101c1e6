// Cycle detection works without recursion, so deep pipelines cannot overflow the stack.
import { Graph } from '@dagrejs/graphlib';
import { describe, expect, it } from 'vitest';
import { findCycles } from '../../src/graph/build.js';
import type { StageId } from '../../src/pipeline/model.js';

function chain(n: number): { graph: Graph; order: StageId[] } {
  const graph = new Graph({ directed: true });
  const order: StageId[] = [];
  for (let i = 0; i < n; i++) {
    order.push(`p:s${i}` as StageId);
    graph.setNode(`p:s${i}`);
    if (i > 0) graph.setEdge(`p:s${i - 1}`, `p:s${i}`);
  }
  return { graph, order };
}

describe('findCycles', () => {
  it('finds none in a 50,000-stage chain', () => {
    const { graph, order } = chain(50_000);
    expect(findCycles(graph, order)).toEqual([]);
  });
  it('finds a cycle at the end of a 50,000-stage chain, and a separate one', () => {
    const { graph, order } = chain(50_000);
    graph.setEdge('p:s49999', 'p:s49990');
    graph.setNode('p:x');
    graph.setNode('p:y');
    graph.setEdge('p:x', 'p:y');
    graph.setEdge('p:y', 'p:x');
    const cycles = findCycles(graph, [...order, 'p:x' as StageId, 'p:y' as StageId]);
    expect(cycles.map((c) => c.length).sort()).toEqual([10, 2]);
  });
});
