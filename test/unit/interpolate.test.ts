// ${...} substitution and params key handling, in isolation.
import { describe, expect, it } from 'vitest';
import { substitute, type Scope } from '../../src/pipeline/interpolate.js';
import { ParamContext, parseKey, formatKey } from '../../src/pipeline/params.js';
import { SourceFile } from '../../src/pipeline/source.js';

const file = new SourceFile('p.yaml', '/p.yaml', 'x');
const at = () => file.at(0);
const scope = (extra: Partial<Scope> = {}): Scope => ({
  vars: { dir: 'data', list: [1, 2] },
  params: new ParamContext([
    { path: 'params.yaml', data: { train: { lr: 0.1, layers: [{ units: 16 }, { units: 8 }] } } },
    { path: 'override.yaml', data: { train: { lr: 0.5 } } },
  ]),
  ...extra,
});

describe('parseKey', () => {
  it('parses dotted keys with list indexes', () => {
    expect(parseKey('train.layers[1].units')).toEqual(['train', 'layers', 1, 'units']);
    expect(parseKey('a')).toEqual(['a']);
    expect(parseKey('with-dash.x_y')).toEqual(['with-dash', 'x_y']);
  });
  it('rejects malformed keys', () => {
    for (const bad of ['', '[0]', 'a..b', 'a[x]', 'a b', 'a[']) expect(parseKey(bad), bad).toBeUndefined();
  });
  it('formats back', () => expect(formatKey(['a', 0, 'b'])).toBe('a[0].b'));
});

describe('substitute', () => {
  it('replaces names from vars and params and records param uses', () => {
    const r = substitute('${dir}/x --lr ${train.lr} --u ${train.layers[1].units}', scope(), at, false);
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toBe('data/x --lr 0.5 --u 8');
    expect(r.params).toEqual([
      { file: 'override.yaml', key: 'train.lr', value: 0.5 },
      { file: 'params.yaml', key: 'train.layers[1].units', value: 8 },
    ]);
  });
  it('keeps types for a whole-string expression when typed', () => {
    expect(substitute('${train.layers}', scope(), at, true).value).toEqual([{ units: 16 }, { units: 8 }]);
    expect(substitute('${train.lr}', scope(), at, true).value).toBe(0.5);
    expect(substitute('${train.lr}', scope(), at, false).value).toBe('0.5');
  });
  it('uses the fan-out item and key first', () => {
    expect(substitute('${item.lr}-${key}', scope({ item: { lr: 3 }, key: 'k' }), at, false).value).toBe('3-k');
  });
  it('leaves escaped expressions as text', () => {
    expect(substitute('echo \\${HOME} $PATH', scope(), at, false).value).toBe('echo ${HOME} $PATH');
  });
  it('reports unknown names with a suggestion', () => {
    const r = substitute('${train.lrr}', scope(), at, false);
    expect(r.diagnostics.map((d) => d.message)).toEqual(['"train" has no key "lrr" — did you mean "lr"?']);
    expect(substitute('${dirr}', scope(), at, false).diagnostics[0]!.message).toBe('unknown name "dirr" — did you mean "dir"?');
  });
  it('refuses to put a list into text', () => {
    expect(substitute('x ${list}', scope(), at, false).diagnostics[0]!.code).toBe('not-scalar');
  });
  it('reports out-of-range indexes', () => {
    expect(substitute('${list[2]}', scope(), at, false).diagnostics[0]!.message).toBe('"list" has 2 items; [2] is out of range');
  });
});
