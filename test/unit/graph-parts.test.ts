// Small parts of the graph module: the path index, path rules, suggestions.
import { describe, expect, it } from 'vitest';
import { PathIndex } from '../../src/graph/path-index.js';
import { checkPath } from '../../src/pipeline/paths.js';
import { closest } from '../../src/util/suggest.js';
import { SourceFile } from '../../src/pipeline/source.js';

describe('PathIndex', () => {
  const index = new PathIndex<string>();
  for (const p of ['data/prepared', 'models/a', 'models/b/c', 'metrics.json']) index.add(p, p);
  it('finds outputs at or above a path', () => {
    expect(index.atOrAbove('data/prepared/train.csv')).toEqual(['data/prepared']);
    expect(index.atOrAbove('data/prepared')).toEqual(['data/prepared']);
    expect(index.atOrAbove('data')).toEqual([]);
  });
  it('finds outputs below a path', () => {
    expect(index.below('models').sort()).toEqual(['models/a', 'models/b/c']);
    expect(index.below('models/a')).toEqual([]);
  });
  it('does not confuse prefixes of names with parents', () => {
    expect(index.overlapping('models/ab')).toEqual([]);
    expect(index.overlapping('metrics')).toEqual([]);
  });
});

describe('checkPath', () => {
  it('normalises', () => {
    expect(checkPath('./data//x/', 'dep', true)).toEqual({ ok: true, path: 'data/x', isDir: true, glob: false });
    expect(checkPath('data/*.csv', 'dep', true)).toMatchObject({ ok: true, glob: true });
  });
  it('rejects escapes, absolute paths, backslashes, the root and .mlpipe', () => {
    for (const bad of ['../x', 'a/../../x', '/etc', 'C:/x', '~/x', 'a\\b', '.', './', '.mlpipe/cache']) {
      expect(checkPath(bad, 'dep', true).ok, bad).toBe(false);
    }
  });
  it('rejects globs where only paths make sense', () => {
    expect(checkPath('out/*.csv', 'output', false).ok).toBe(false);
  });
});

describe('closest', () => {
  it('suggests near names only', () => {
    expect(closest('dep', ['deps', 'outs', 'cmd'])).toBe('deps');
    expect(closest('trian', ['train', 'test'])).toBe('train');
    expect(closest('zzzz', ['deps', 'outs'])).toBeUndefined();
  });
});

describe('SourceFile', () => {
  it('maps offsets to 1-based lines and columns', () => {
    const f = new SourceFile('p', '/p', 'ab\ncd\r\nef');
    expect(f.position(0)).toEqual({ line: 1, col: 1 });
    expect(f.position(4)).toEqual({ line: 2, col: 2 });
    expect(f.position(7)).toEqual({ line: 3, col: 1 });
    expect(f.lineText(2)).toBe('cd');
  });
});
