// One rule for paths, wherever they are read: the path pattern of the lock and
// registry schemas accepts exactly the paths checkPath (the pipeline's rule)
// accepts in normal form, for fuzzed and hand-picked paths; and the nesting
// pre-pass flags deep documents without flagging real ones.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPath } from '../../src/pipeline/paths.js';
import { MAX_NESTING, structureLimit } from '../../src/pipeline/yaml-file.js';
import { REPO } from '../rig.js';

/** Where the text first breaks a structural limit, or -1. */
const tooDeep = (text: string) => structureLimit(text)?.at ?? -1;

const schemaPattern = (name: string) => new RegExp(JSON.parse(readFileSync(join(REPO, 'schemas', `${name}.schema.json`), 'utf8')).definitions.path.pattern, 'u');

describe('path rules', () => {
  const lock = schemaPattern('lock');
  const registry = schemaPattern('registry');

  it('the lock and registry schemas share one path pattern', () => {
    expect(registry.source).toBe(lock.source);
  });

  const agrees = (p: string) => {
    const checked = checkPath(p, 'path', true);
    const pipelineOk = checked.ok && checked.path === p;
    expect(lock.test(p), JSON.stringify(p)).toBe(pipelineOk);
  };

  it('agrees with checkPath on hand-picked paths', () => {
    for (const p of ['a\nb/../c', ' \nx', ' ', 'a', 'a/b.txt', 'data/*.csv', '...', 'a..b', '.hidden', 'x/.mlpipe', '../x', 'a/../b', 'a/./b', './a', '/etc', 'C:/x', '~/x', 'a\\b', 'a//b', 'a/', '', '.', '..', '.mlpipe', '.mlpipe/cache', 'a/..', 'é/ü']) agrees(p);
  });

  it('agrees with checkPath on fuzzed paths', () => {
    const part = fc.oneof(fc.constantFrom('a', '.', '..', '...', '.mlpipe', '', '~', 'C:', 'x\\y', '*'), fc.string({ maxLength: 4 }));
    fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => agrees(parts.join('/'))), { numRuns: Number(process.env.FC_RUNS ?? 500) });
  });
});

describe('nesting pre-pass', () => {
  it('passes every YAML file the project ships', () => {
    for (const dir of ['pipelines', 'registry']) {
      for (const f of readdirSync(join(REPO, dir)).filter((n) => /\.(ya?ml|lock)$/.test(n))) expect(tooDeep(readFileSync(join(REPO, dir, f), 'utf8')), f).toBe(-1);
    }
  });

  it(`flags nesting past ${MAX_NESTING} levels, block or flow or both, and nothing shallower`, () => {
    const block = (n: number) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`;
    const flow = (n: number) => `k: ${'['.repeat(n)}${']'.repeat(n)}\n`;
    const seqs = (n: number) => `${'- '.repeat(n)}x\n`;
    expect(tooDeep(block(MAX_NESTING))).toBe(-1);
    expect(tooDeep(block(MAX_NESTING + 1))).not.toBe(-1);
    expect(tooDeep(flow(MAX_NESTING - 1))).toBe(-1);
    expect(tooDeep(flow(MAX_NESTING))).not.toBe(-1);
    expect(tooDeep(seqs(MAX_NESTING - 1))).toBe(-1); // the scalar after the last "- " counts as a node too
    expect(tooDeep(seqs(MAX_NESTING + 1))).not.toBe(-1);
    // A block scalar's indented lines are text, not levels.
    expect(tooDeep(`a: |\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i + 2)}x`).join('\n')}\n`)).toBe(-1);
  });
});
