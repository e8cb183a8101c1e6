// Property: whatever bytes or document a pipeline file holds, analysis ends in
// diagnostics or success — never an exception.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analysis.js';

const root = mkdtempSync(join(tmpdir(), 'mlpipe-prop-'));
mkdirSync(join(root, 'pipelines'));
writeFileSync(join(root, 'params.yaml'), 'a: {b: [1, 2]}\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function analyzeText(content: string | Uint8Array): void {
  writeFileSync(join(root, 'pipelines', 'p.yaml'), content);
  const result = analyze(root);
  expect(result.ok || result.diagnostics.length > 0).toBe(true);
  for (const d of result.diagnostics) expect(typeof d.message).toBe('string');
}

const fieldNames = ['stages', 'name', 'vars', 'params', 'env', 'cmd', 'uses', 'with', 'deps', 'outs', 'metrics', 'matrix', 'foreach', 'needs', 'wdir', 'timeout', 'a', 'b'];
const scalar = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('${a.b[0]}', '${item.x}', '${nope}', '../x', '/abs', 'data/*.csv', 'mlpipe/train', 'x/'));
const tree = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...fieldNames), tie('node'), { maxKeys: 5 })),
})).node;

describe('analysis never throws', () => {
  it('on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => analyzeText(bytes)), { numRuns: Number(process.env.FC_RUNS ?? 150) });
  });
  it('on random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => analyzeText(text)), { numRuns: Number(process.env.FC_RUNS ?? 150) });
  });
  it('on random documents shaped like pipelines', () => {
    const stage = fc.dictionary(fc.constantFrom(...fieldNames), tree, { maxKeys: 6 });
    const doc = fc.record({ stages: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), stage, { maxKeys: 4 }) }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(doc, tree), (d) => analyzeText(stringify(d))), { numRuns: Number(process.env.FC_RUNS ?? 300) });
  });
});
