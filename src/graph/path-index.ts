// An index of paths by segment, answering "which outputs are equal to, inside,
// or contain this path" in time proportional to the path's depth, so that edge
// building stays linear for pipelines of thousands of stages.

interface TrieNode<T> {
  readonly children: Map<string, TrieNode<T>>;
  readonly values: T[];
}

function node<T>(): TrieNode<T> {
  return { children: new Map(), values: [] };
}

export class PathIndex<T> {
  private readonly root: TrieNode<T> = node();

  add(path: string, value: T): void {
    let n = this.root;
    for (const seg of path.split('/')) {
      let child = n.children.get(seg);
      if (!child) {
        child = node();
        n.children.set(seg, child);
      }
      n = child;
    }
    n.values.push(value);
  }

  /** Values stored at the path itself or at any of its ancestors. */
  atOrAbove(path: string): T[] {
    const out: T[] = [];
    let n: TrieNode<T> | undefined = this.root;
    for (const seg of path.split('/')) {
      n = n.children.get(seg);
      if (!n) break;
      out.push(...n.values);
    }
    return out;
  }

  /** Values stored strictly below the path. */
  below(path: string): T[] {
    let n: TrieNode<T> | undefined = this.root;
    for (const seg of path.split('/')) {
      n = n.children.get(seg);
      if (!n) return [];
    }
    const out: T[] = [];
    const stack = [...n.children.values()];
    while (stack.length > 0) {
      const c = stack.pop()!;
      out.push(...c.values);
      stack.push(...c.children.values());
    }
    return out;
  }

  /** Values at, above or below the path: everything that overlaps it. */
  overlapping(path: string): T[] {
    return [...this.atOrAbove(path), ...this.below(path)];
  }
}
