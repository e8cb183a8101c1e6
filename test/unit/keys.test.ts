// Golden values: the content hash, the canonical record and the stage key
// format are pinned, so an accidental change (which would make every user's
// stages stale or, worse, collide) fails CI. Change KEY_VERSION when changing them on purpose.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/cache/canonical.js';
import { CHUNK, hashBytes, hashFile, initHashing } from '../../src/cache/hash.js';
import { KEY_VERSION, stageKey, type KeyRecord } from '../../src/cache/key.js';

beforeAll(async () => initHashing());

describe('content hashes', () => {
  it('are XXH3-128 of the bytes for small data', () => {
    expect(hashBytes(Buffer.from(''))).toBe('99aa06d3014798d86001c324468d497f');
    expect(hashBytes(Buffer.from('hello world'))).toBe('df8d09e93f874900a99b8775cc15b6c7');
  });
  it('hash files larger than one read the same as their bytes', () => {
    const data = Buffer.alloc(CHUNK * 2 + 5);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const dir = mkdtempSync(join(tmpdir(), 'mlpipe-hash-'));
    try {
      writeFileSync(join(dir, 'f'), data);
      const h = hashBytes(data);
      expect(hashFile(join(dir, 'f'))).toEqual({ hash: h, size: data.length });
      expect(h).toBe('096c123be8380de279a63f7a473a15d6');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('stage keys', () => {
  const record: KeyRecord = {
    v: KEY_VERSION,
    cmd: ['python train.py --lr 0.1'],
    deps: { 'data/train.csv': { hash: 'df8d09e93f874900a99b8775cc15b6c7', size: 11 }, 'data/raw': { hash: '99aa06d3014798d86001c324468d497f', size: 0, files: 0 }, 'gone.txt': null },
    params: { 'params.yaml': { 'train.lr': 0.1, 'train.layers': [16, 8] } },
    env: { PYTHONHASHSEED: '0' },
    wdir: '.',
    outs: { 'models/m': { role: 'out', cache: true, persist: false } },
  };

  it('serialise canonically: sorted keys at every level, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}');
    expect(canonicalJson(record)).toBe(
      '{"cmd":["python train.py --lr 0.1"],"deps":{"data/raw":{"files":0,"hash":"99aa06d3014798d86001c324468d497f","size":0},"data/train.csv":{"hash":"df8d09e93f874900a99b8775cc15b6c7","size":11},"gone.txt":null},"env":{"PYTHONHASHSEED":"0"},"outs":{"models/m":{"cache":true,"persist":false,"role":"out"}},"params":{"params.yaml":{"train.layers":[16,8],"train.lr":0.1}},"v":2,"wdir":"."}',
    );
  });

  it('are pinned', () => {
    expect(KEY_VERSION).toBe(2);
    expect(stageKey(record)).toBe('92f2ee04216fb12487f3f397c04c7fe768025958dd6b864e6fab3255a80b286d');
  });

  it('do not depend on key order', () => {
    const shuffled = JSON.parse(JSON.stringify({ outs: record.outs, wdir: record.wdir, env: record.env, params: record.params, deps: record.deps, cmd: record.cmd, v: record.v }));
    expect(stageKey(shuffled)).toBe(stageKey(record));
  });

  it('change with anything that decides the result', () => {
    const base = stageKey(record);
    const variants: KeyRecord[] = [
      { ...record, cmd: ['python train.py --lr 0.2'] },
      { ...record, deps: { ...record.deps, 'data/train.csv': { hash: '00000000000000000000000000000000', size: 11 } } },
      { ...record, deps: { 'data/train.csv': record.deps['data/train.csv']!, 'gone.txt': null } },
      { ...record, params: { 'params.yaml': { 'train.lr': 0.2, 'train.layers': [16, 8] } } },
      { ...record, env: { PYTHONHASHSEED: '1' } },
      { ...record, wdir: 'sub' },
      { ...record, outs: { 'models/m': { role: 'out', cache: false, persist: false } } },
    ];
    for (const v of variants) expect(stageKey(v)).not.toBe(base);
  });
});
