// Issue 13's fuzz test: every file mlpipe reads that can arrive by pull request
// (pipeline, params, lock, registry, config) is mutated with invalid UTF-8,
// deep flow and block nesting, alias bombs, path escapes, random bytes and
// truncation, then read by `validate` or `status` through the built CLI.
// Every run must exit 0 or 2, an exit 2 must print a located diagnostic
// (file:line:col), and each must take under 2 s of CPU and 200 MB; nothing
// outside the project is touched. Bounded for CI (FUZZ_RUNS, default 30); run longer
// with FUZZ_RUNS=1000 npx vitest run test/e2e/fuzz-files.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, REPO, Rig } from '../rig.js';

const HASH = '0123456789abcdef0123456789abcdef';
const KEY = `${HASH}${HASH}`;

/** Each file kind: where it lives, a valid document, and the paths in it an attacker would change. */
const KINDS = {
  pipeline: { file: 'pipelines/p.yaml', base: 'stages:\n  s:\n    cmd: echo ${a} > out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n    meta: {n: 1}\n', path: 'out.txt' },
  params: { file: 'params.yaml', base: 'a: 1\nb: [1, 2]\nc: {d: x}\n', path: undefined },
  lock: {
    file: 'pipelines/p.lock',
    base: `schema: 1\nstages:\n  s:\n    key: "${KEY}"\n    deps:\n      in.txt:\n        hash: "${HASH}"\n        size: 3\n    outs:\n      out.txt:\n        cache: true\n        hash: "${HASH}"\n        size: 3\n`,
    path: 'out.txt',
  },
  registry: { file: 'registry/m.yaml', base: `name: m\naliases:\n  production: 1\nversions:\n  - version: 1\n    hash: ${HASH}\n    registered_at: "2026-11-28T00:00:00.000Z"\n    source: models/m\n`, path: 'models/m' },
  config: { file: '.mlpipe/config.yaml', base: 'cache:\n  link: copy\n', path: undefined },
} as const;
type Kind = keyof typeof KINDS;

const BAD_UTF8 = [[0xed, 0xa0, 0x80], [0xe0, 0x80, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xff], [0xe2, 0x82], [0x00]];
const ESCAPES = ['../outside', '../../x', '/etc/passwd', 'a/../../b', '~/.ssh/id', 'C:/x', 'a\\..\\b', '.mlpipe/cache', './../x', '..', 'a//b/../../..'];

type Mutation = (text: Buffer, kind: Kind) => Buffer;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom(...BAD_UTF8), fc.double({ min: 0, max: 1, noNaN: true })).map(([bytes, at]): Mutation => (t) => {
    const i = Math.floor(at * t.length);
    return Buffer.concat([t.subarray(0, i), Buffer.from(bytes), t.subarray(i)]);
  }),
  fc.tuple(fc.integer({ min: 50, max: 300_000 }), fc.constantFrom('[', '{a: ', '- ')).map(([depth, open]): Mutation => (t) => Buffer.concat([t, Buffer.from(`zz: ${open.repeat(depth)}\n`)])),
  fc.integer({ min: 50, max: 5_000 }).map((depth): Mutation => (t) => Buffer.concat([t, Buffer.from(`zz:\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`)])),
  fc.tuple(fc.integer({ min: 3, max: 12 }), fc.integer({ min: 2, max: 10 })).map(([levels, width]): Mutation => (t) => {
    const lines = [`a0: &a0 [${Array(width).fill('lol').join(', ')}]`];
    for (let l = 1; l < levels; l++) lines.push(`a${l}: &a${l} [${Array(width).fill(`*a${l - 1}`).join(', ')}]`);
    return Buffer.concat([t, Buffer.from(`zz:\n${lines.map((l) => `  ${l}`).join('\n')}\n`)]);
  }),
  fc.constantFrom(...ESCAPES).map((escape): Mutation => (t, kind) => {
    const path = KINDS[kind].path;
    return path ? Buffer.from(t.toString('latin1').split(path).join(escape), 'latin1') : Buffer.concat([t, Buffer.from(`zz: ${JSON.stringify(escape)}\n`)]);
  }),
  fc.uint8Array({ maxLength: 200 }).map((bytes): Mutation => (t) => Buffer.concat([t, Buffer.from(bytes)])),
  fc.double({ min: 0, max: 1, noNaN: true }).map((at): Mutation => (t) => t.subarray(0, Math.floor(at * t.length))),
);

const LOCATED = /^(\S+):(\d+):(\d+): error: /m;

describe('fuzzed project files', () => {
  const rig = new Rig().write(Object.fromEntries([...Object.values(KINDS).map((k) => [k.file, k.base]), ['in.txt', 'in\n']]));
  const outside = join(dirname(rig.dir), `${basename(rig.dir)}-outside`);
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim.txt'), 'precious\n');
  const rssFile = join(rig.dir, '..', `${basename(rig.dir)}-rss`);
  afterAll(() => {
    rig.cleanup();
    rmSync(outside, { recursive: true, force: true });
    rmSync(rssFile, { force: true });
  });

  it('exit 0 or 2 with a located diagnostic, under 2 s of CPU and 200 MB each, nothing outside touched', () => {
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(KINDS) as Kind[])), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.constantFrom('validate', 'status'), (kind, mutations, command) => {
        for (const k of Object.values(KINDS)) rig.write({ [k.file]: k.base });
        const text = mutations.reduce((t, m) => m(t, kind), Buffer.from(KINDS[kind].base));
        rig.write({ [KINDS[kind].file]: text });
        const started = Date.now();
        const r = spawnSync(process.execPath, ['--require', join(REPO, 'test', 'fixtures', 'max-rss.cjs'), BIN, command], {
          cwd: rig.dir,
          env: { ...process.env, NO_COLOR: '1', MLPIPE_TEST_RSS_FILE: rssFile, GITHUB_ACTIONS: '' },
          encoding: 'utf8',
          timeout: 20_000,
        });
        const ms = Date.now() - started;
        const what = `${kind} ${command} → ${r.status}: ${r.stderr.slice(0, 400)}`;
        expect([0, 2], what).toContain(r.status);
        if (r.status === 2) {
          const m = LOCATED.exec(r.stderr);
          expect(m, what).not.toBeNull();
          expect(Object.values(KINDS).map((k) => k.file), what).toContain(m![1]);
        }
        const used = JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRssKb: number; cpuMs: number };
        expect(used.cpuMs, what).toBeLessThan(2000);
        expect(ms, what).toBeLessThan(10_000); // wall time: no hang, whatever else shares the cores
        expect(used.maxRssKb / 1024, what).toBeLessThan(200);
        expect(readdirSync(outside)).toEqual(['victim.txt']);
        expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('precious\n');
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 30) },
    );
  }, 600_000);
});
