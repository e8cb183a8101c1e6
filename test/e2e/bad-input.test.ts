// Files that are not pipelines at all — empty, a list, binary, not UTF-8, huge,
// duplicate keys, tabs, looping or exploding aliases — get a located error and
// exit 2, never a crash or a stack trace.
import { afterEach, describe, expect, it } from 'vitest';
import { Rig, errorLines } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

function check(content: string | Uint8Array, expected: string): void {
  rig = new Rig().write({ 'pipelines/p.yaml': content });
  const r = rig.run(['validate']);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
  expect(r.stderr).not.toContain('internal error');
  const lines = errorLines(r.stderr);
  expect(lines.length, r.stderr).toBeGreaterThan(0);
  expect(lines[0]).toMatch(new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
}

describe('bad input', () => {
  it('empty file', () => check('', 'pipelines/p.yaml:1:1: error: pipeline file is empty'));
  it('only a comment', () => check('# nothing here\n', 'pipelines/p.yaml:1:1: error: pipeline file is empty'));
  it('a list at top level', () => check('- a\n- b\n', 'pipelines/p.yaml:1:1: error: a pipeline file holds a mapping with "stages:", not a list'));
  it('a scalar at top level', () => check('hello\n', 'pipelines/p.yaml:1:1: error: a pipeline file holds a mapping with "stages:", not a string'));
  it('duplicate keys', () => check('stages:\n  a:\n    cmd: x\n    cmd: y\n', 'pipelines/p.yaml:4:5: error: duplicate key'));
  it('tabs as indentation', () => check('stages:\n\ta:\n\t\tcmd: x\n', 'pipelines/p.yaml:2:1: error: tab used for indentation'));
  it('an alias that contains itself', () => check('stages: &s\n  a:\n    cmd: x\n    meta: *s\n', 'pipelines/p.yaml:4:11: error: alias *s refers to a node that contains it'));
  it('aliases that explode (billion laughs)', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    text += 'stages: {x: {cmd: echo, meta: *a9}}\n';
    check(text, 'pipelines/p.yaml:1:1: error: aliases expand to too many nodes');
  });
  it('a 50 MB file', () => check(`stages:\n  a:\n    cmd: echo\n    meta: "${'x'.repeat(50 * 1024 * 1024)}"\n`, 'pipelines/p.yaml:1:1: error: file is 52.4 MB'));
  it('binary garbage', () => {
    const bytes = new Uint8Array(4096);
    let seed = 7;
    for (let i = 0; i < bytes.length; i++) bytes[i] = seed = (seed * 1103515245 + 12345) & 0xff;
    bytes[100] = 0;
    check(bytes, 'pipelines/p.yaml:');
  });
  it('non-UTF-8 bytes', () => check(Buffer.from('stages:\n  a:\n    cmd: caf\xe9\n', 'latin1'), 'pipelines/p.yaml:3:13: error: invalid UTF-8 byte 0xe9'));
  it('several YAML documents', () => check('stages:\n  a:\n    cmd: x\n---\nstages: {}\n', 'pipelines/p.yaml:4:1: error: the file holds several YAML documents'));
  it('an unterminated string', () => check('stages:\n  a:\n    cmd: "echo\n', 'pipelines/p.yaml:'));
  it('nesting too deep to read', () => check(`stages:\n  a:\n    cmd: echo\n    meta: ${'['.repeat(20000)}${']'.repeat(20000)}\n`, 'pipelines/p.yaml:4:'));
  it('no stages', () => check('stages: {}\n', 'pipelines/p.yaml:1:9: error: "stages" must not be empty'));
  it('a broken params file is located in the params file', () => {
    rig = new Rig().write({ 'params.yaml': 'train: {lr: 0.1\n', 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo ${train.lr}\n' });
    const r = rig.run(['validate']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^params.yaml:\d+:\d+: error: YAML syntax/);
  });
  it('a UTF-8 byte-order mark is accepted', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': '\ufeffstages:\n  a:\n    cmd: echo\n' });
    expect(rig.run(['validate']).code).toBe(0);
  });
});
