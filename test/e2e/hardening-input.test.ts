// Issue 13, inputs that crashed or hung mlpipe: invalid UTF-8 that Node
// rejects, deep flow and block nesting, a broken config file, and an invalid
// pipeline that left .mlpipe/ behind. Each gets a located error, quickly.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorLines, Rig } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

const stage = 'stages:\n  s:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n';

describe('invalid UTF-8', () => {
  // A surrogate, an overlong form, a code point above U+10FFFF, a truncated sequence.
  const bad: [string, number[]][] = [
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['overlong', [0xe0, 0x80, 0xaf]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['truncated', [0xe2, 0x82]],
  ];
  for (const [what, bytes] of bad) {
    it(`${what}: a located error in pipeline, params and lock files, in validate, run and status`, () => {
      const poisoned = (text: string, marker: string) => {
        const at = text.indexOf(marker);
        return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at))]);
      };
      const files: [string, Record<string, string | Uint8Array>, RegExp][] = [
        ['pipeline', { 'pipelines/p.yaml': poisoned(stage, 'hi') }, /^pipelines\/p\.yaml:3:15: error: invalid UTF-8 byte 0x[0-9a-f]{2}/],
        ['params', { 'pipelines/p.yaml': stage, 'params.yaml': poisoned('a: xx\n', 'xx') }, /^params\.yaml:1:4: error: invalid UTF-8 byte/],
        ['lock', { 'pipelines/p.yaml': stage, 'pipelines/p.lock': poisoned('schema: 1\nstages: {}\n# x\n', 'x\n') }, /^pipelines\/p\.lock:3:3: error: invalid UTF-8 byte/],
      ];
      for (const [kind, content, expected] of files) {
        rig?.cleanup();
        rig = new Rig().write(content);
        for (const cmd of ['validate', 'run', 'status']) {
          const r = rig.run([cmd]);
          expect(r.code, `${kind} ${cmd}: ${r.stderr}`).toBe(2);
          expect(errorLines(r.stderr)[0], `${kind} ${cmd}`).toMatch(expected);
          expect(r.stderr).not.toContain('internal error');
        }
      }
    });
  }
});

describe('deep nesting', () => {
  const cases: [string, string, RegExp][] = [
    ['flow nesting of 100,000 brackets', `${stage}    meta: ${'['.repeat(100_000)}\n`, /^pipelines\/p\.yaml:5:\d+: error: the document nests deeper than 100 levels here/],
    ['flow nesting of 1,000,000 brackets', `${stage}    meta: ${'{a: '.repeat(250_000)}\n`, /^pipelines\/p\.yaml:5:\d+: error: the document nests deeper than 100 levels here/],
    ['block nesting of 2,000 mappings', `${stage}    meta:\n${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(6 + i)}a:`).join('\n')}\nz: 1\n`, /^pipelines\/p\.yaml:\d+:\d+: error: the document nests deeper than 100 levels here/],
  ];
  for (const [what, text, expected] of cases) {
    it(`${what}: rejected with a located error in well under a second of parsing`, () => {
      rig = new Rig().write({ 'pipelines/p.yaml': text });
      const started = Date.now();
      const r = rig.run(['validate']);
      const ms = Date.now() - started;
      expect(r.code, r.stderr.slice(0, 500)).toBe(2);
      expect(errorLines(r.stderr)[0]).toMatch(expected);
      expect(r.stderr).toContain('suggestion: flatten the structure');
      expect(ms).toBeLessThan(5000); // process start included; the parse itself is milliseconds (was 35 s / a stack overflow)
    });
  }

  it('the same limit holds for params files', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': stage, 'params.yaml': `a: ${'['.repeat(5000)}\n` });
    const r = rig.run(['run']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^params\.yaml:1:\d+: error: the document nests deeper than 100 levels/);
  });
});

describe('.mlpipe/config.yaml', () => {
  it('an unknown link mode or broken YAML is a located error, not a silent default', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': stage, '.mlpipe/config.yaml': 'cache:\n  link: reflink\n' });
    let r = rig.run(['run']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^\.mlpipe\/config\.yaml:2:9: error: "cache\.link" is "reflink"; expected one of copy, hardlink, symlink/);
    expect(rig.run(['validate']).code).toBe(2);
    rig.write({ '.mlpipe/config.yaml': `cache: ${'['.repeat(300)}\n` });
    r = rig.run(['status']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^\.mlpipe\/config\.yaml:1:\d+: error: the document nests deeper/);
    rig.write({ '.mlpipe/config.yaml': 'cache:\n  link: hardlink\n' });
    expect(rig.run(['run']).code).toBe(0);
  });
});

describe('nothing written for an invalid pipeline', () => {
  it('run, checkout and gc of an invalid pipeline leave no .mlpipe/ behind (SPEC §5)', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  s:\n    cmd: echo\n    outs: [../x]\n' });
    for (const cmd of [['run'], ['checkout'], ['gc'], ['run', '--no-wait']]) {
      const r = rig.run(cmd);
      expect(r.code, cmd.join(' ')).toBe(2);
      expect(rig.exists('.mlpipe'), cmd.join(' ')).toBe(false);
    }
  });
});

describe('symbolic links inside dep directories', () => {
  it('a link to / or to its own directory never makes mlpipe walk the machine or loop; a link to a file inside counts', () => {
    rig = new Rig().write({
      'data/a.txt': 'a\n',
      'inside.txt': 'inside\n',
      'pipelines/p.yaml': 'stages:\n  dir:\n    cmd: cat data/a.txt > dir.txt\n    deps: [data/]\n    outs: [dir.txt]\n  glob:\n    cmd: cat data/a.txt > glob.txt\n    deps: ["data/**"]\n    outs: [glob.txt]\n',
    });
    const fs = require('node:fs') as typeof import('node:fs');
    fs.symlinkSync('.', join(rig.dir, 'data', 'loop'));
    fs.symlinkSync('/', join(rig.dir, 'data', 'root'));
    fs.symlinkSync('../inside.txt', join(rig.dir, 'data', 'inside-link'));
    const started = Date.now();
    for (const cmd of [['validate'], ['status'], ['run']]) {
      const r = rig.run(cmd);
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(Date.now() - started).toBeLessThan(15_000); // was: status never finished (it walked / through data/root)
    // The linked file inside the project is content of data/: changing it makes the stage stale.
    rig.write({ 'inside.txt': 'changed\n' });
    const s = JSON.parse(rig.run(['status', '--json']).stdout) as { stages: { id: string; status: string; reasons: string[] }[] };
    expect(s.stages.find((x) => x.id === 'p:dir')).toMatchObject({ status: 'stale', reasons: ['dep changed: data'] });
    expect(s.stages.find((x) => x.id === 'p:glob')!.status).toBe('fresh');
  });
});

describe('size of the work a file asks for', () => {
  it('a matrix of 10^9 instances, a foreach of 20,000 and a project of 25,001 stages are located errors, quickly', () => {
    const axis = `[${Array.from({ length: 1000 }, (_, i) => i).join(', ')}]`;
    const cases: [string, string, RegExp][] = [
      ['matrix', `stages:\n  s:\n    matrix: {a: ${axis}, b: ${axis}, c: ${axis}}\n    cmd: echo \${item.a}\n`, /^pipelines\/p\.yaml:3:13: error: the matrix makes more than 10,000 instances \(1,000 × 1,000 by axis "b"\)/],
      ['foreach', `stages:\n  s:\n    foreach: [${Array.from({ length: 20_000 }, (_, i) => i).join(', ')}]\n    cmd: echo \${item}\n`, /^pipelines\/p\.yaml:3:14: error: "foreach" makes 20,000 instances; at most 10,000/],
      ['stages', `stages:\n${Array.from({ length: 25_001 }, (_, i) => `  s${i}: {cmd: x}`).join('\n')}\n`, /^pipelines\/p\.yaml:25002:3: error: the project has more than 25,000 stages from here on/],
      ['values', `stages:\n  s:\n    cmd: x\n    meta: [${'1,'.repeat(500_001)}1]\n`, /^pipelines\/p\.yaml:4:\d+: error: the document holds more than 500,000 values/],
    ];
    for (const [what, text, expected] of cases) {
      rig?.cleanup();
      rig = new Rig().write({ 'pipelines/p.yaml': text });
      const started = Date.now();
      const r = rig.run(['validate']);
      expect(r.code, what).toBe(2);
      expect(errorLines(r.stderr)[0], what).toMatch(expected);
      expect(Date.now() - started, what).toBeLessThan(10_000); // the matrix ran out of memory before; the rest took seconds to minutes
    }
  });

  it('20,000 stages in one file are read in linear time (the YAML library\'s duplicate-key check was quadratic)', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': `stages:\n${Array.from({ length: 20_000 }, (_, i) => `  s${i}: {cmd: x}`).join('\n')}\n  s7: {cmd: y}\n` });
    const r = rig.run(['validate']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['pipelines/p.yaml:20002:3: error: duplicate key: each key may appear once in a mapping']);
  });
});
