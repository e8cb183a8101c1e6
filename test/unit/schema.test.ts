// The JSON Schema is the single source of truth: the bundled pipelines pass it,
// it compiles with ajv in strict mode, and editors can use it as it is.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO } from '../rig.js';

const schema = JSON.parse(readFileSync(join(REPO, 'schemas', 'pipeline.schema.json'), 'utf8'));

describe('pipeline schema', () => {
  const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(schema);
  it('accepts every bundled pipeline', () => {
    const dir = join(REPO, 'pipelines');
    const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(validate(parse(readFileSync(join(dir, f), 'utf8'))), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
  });
  it('accepts the example of SPEC section 2', () => {
    const doc = {
      name: 'iris',
      params: ['params.yaml'],
      vars: { data_dir: 'data' },
      env: { PYTHONHASHSEED: '0' },
      stages: {
        prepare: { desc: 'split', cmd: 'node x', deps: ['a'], params: ['prepare.test_size', { 'p.yaml': ['x'] }, { 'q.yaml': null }], outs: ['data/prepared/', { 'm/': { cache: false, persist: true } }] },
        train: { uses: 'mlpipe/train', with: { epochs: '${train.epochs}' }, metrics: ['metrics/train.json'], plots: ['plots/loss.csv'], needs: ['prepare'], timeout: '10m', retries: 2, resources: { cpus: 2, gpus: 1, mutex: ['gpu0'] }, always_run: false, frozen: false, wdir: 'sub', meta: { any: [1] } },
        sweep: { matrix: { lr: [0.01, 0.1], units: '${units}' }, cmd: ['a', 'b'] },
        each: { foreach: { a: 1 }, cmd: 'x' },
      },
    };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });
});
