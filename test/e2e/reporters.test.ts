// Reporters through the CLI: plain and json carry no escape codes (json: only
// schema-valid events on stdout), tty draws a live display, --junit writes
// valid JUnit XML, GitHub Actions gets folded groups, ::error annotations and
// a job summary; and `run --frozen` as the CI check that lock files were
// committed.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig, parseEvent } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

const PIPELINE = `stages:
  good:
    cmd: 'echo hello from good; echo "warning: disk almost full"; echo done > good.txt'
    outs: [good.txt]
  bad:
    cmd: echo "about to fail <&>"; exit 4
    needs: [good]
  after:
    cmd: touch after.txt
    needs: [bad]
    outs: [after.txt]
`;

describe('reporters', () => {
  it('plain: line output without escape codes, stage output prefixed on stdout', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': PIPELINE });
    const r = rig.run(['run', '--reporter', 'plain'], { env: { NO_COLOR: '' } });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toMatch(/\x1b/);
    expect(r.stdout).toContain('[p:good] hello from good');
    expect(r.stderr).toContain('✗ p:bad failed: exit code 4');
    expect(r.stderr).toContain('⊘ p:after: skipped');
  });

  it('json: only schema-valid events on stdout, nothing else there', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': PIPELINE });
    const r = rig.run(['run', '--reporter', 'json']);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/\x1b/);
    const events = r.stdout.trim().split('\n').map(parseEvent);
    expect(events[0]!.type).toBe('run-started');
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', ok: false, counts: { ran: 1, failed: 1, skipped: 1 } });
    expect(events.filter((e) => e.type === 'stage-queued').map((e) => e.stage)).toEqual(['p:good', 'p:bad']);
    expect(events.find((e) => e.type === 'stage-output' && e.stage === 'p:good')).toMatchObject({ line: 'hello from good' });
  });

  it('tty: a live display with a progress count, the failure with its last lines, and the summary', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': PIPELINE });
    const r = rig.run(['run', '--reporter', 'tty'], { env: { FORCE_COLOR: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\x1b\[/); // drawn with escape codes
    expect(r.stderr).toMatch(/\d\/3 stages/);
    expect(r.stderr).toContain('p:bad');
    expect(r.stderr).toContain('about to fail <&>');
    expect(r.stderr).toContain('3 stages: 1 ran, 1 failed, 1 skipped');
    expect(r.stdout).not.toContain('hello from good'); // output is not streamed in the live display
    expect(r.stderr).toContain('⚠ p:good: disk almost full'); // but warnings are shown
  });

  it('plain: parallel stages\' output is never interleaved line by line', () => {
    // Two stages print a line every 50 ms at the same time.
    const talk = (name: string) => `for i in 1 2 3 4 5 6; do echo ${name} $i; sleep 0.05; done; touch ${name}.txt`;
    rig = new Rig().write({ 'pipelines/p.yaml': `stages:\n  left:\n    cmd: ${talk('left')}\n    outs: [left.txt]\n  right:\n    cmd: ${talk('right')}\n    outs: [right.txt]\n` });
    const r = rig.run(['run', '--reporter', 'plain', '-j', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /^\[p:(left|right)\]/.test(l));
    expect(lines).toHaveLength(12);
    const owners = lines.map((l) => l.slice(0, l.indexOf(']') + 1));
    const switches = owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length;
    expect(switches).toBe(1); // one block each
    for (const name of ['left', 'right']) expect(lines.filter((l) => l.startsWith(`[p:${name}]`))).toEqual([1, 2, 3, 4, 5, 6].map((i) => `[p:${name}] ${name} ${i}`));
  });

  it('tty: a running stage shows its last line (a long action\'s progress), a finished one why it ran', () => {
    const epochs = 'for i in 1 2 3 4 5 6 7 8; do echo "epoch $i/8: loss 0.$i"; sleep 0.15; done; touch m.txt\n';
    rig = new Rig().write({ 'params.yaml': 'n: 1\n', 'train.sh': epochs, 'pipelines/p.yaml': 'stages:\n  train:\n    cmd: sh train.sh ${n}\n    deps: [train.sh]\n    outs: [m.txt]\n' });
    rig.run(['run']);
    rig.write({ 'params.yaml': 'n: 2\n' });
    const r = rig.run(['run', '--reporter', 'tty']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/▶ p:train \d+(\.\d+)?m?s\s+epoch \d\/8: loss 0\.\d/);
    expect(r.stderr).toContain('✓ p:train');
    expect(r.stderr).toMatch(/✓ p:train \S+ \(param n: 1 → 2\)/);
  });

  it('chooses plain when CI is set or output is not a terminal', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': PIPELINE });
    const r = rig.run(['run'], { env: { CI: 'true' } });
    expect(r.stderr).not.toMatch(/\x1b/);
    expect(r.stdout).toContain('[p:good] hello from good');
  });

  it('--junit writes valid JUnit XML: a testcase per stage, failures with the log tail, skips', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': PIPELINE });
    const r = rig.run(['run', '--junit', 'reports/junit.xml']);
    expect(r.code).toBe(1);
    const xml = rig.read('reports/junit.xml');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ name: 'p', tests: '3', failures: '1', skipped: '1' });
    const cases = suite.testcase as Record<string, unknown>[];
    expect(cases.map((c) => c.name)).toEqual(['good', 'bad', 'after']);
    const bad = cases[1] as { failure: { message: string; '#text': string } };
    expect(bad.failure.message).toBe('exit code 4');
    expect(bad.failure['#text']).toContain('about to fail <&>');
    expect(cases[2]).toHaveProperty('skipped');
  });

  it('GitHub Actions: output folded per stage, failures as ::error annotations, a job summary', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': PIPELINE });
    const summary = join(rig.dir, 'summary.md');
    const r = rig.run(['run'], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::group::p:good\nhello from good\nwarning: disk almost full\n::endgroup::');
    expect(r.stderr).toContain('::warning title=mlpipe%3A p%3Agood::disk almost full');
    expect(r.stderr).toContain('::error file=pipelines/p.yaml,line=5,title=mlpipe%3A p%3Abad failed::stage p:bad failed: exit code 4%0Aabout to fail <&>');
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('### mlpipe run failed');
    expect(md).toContain('| p:good | ✅ ran |');
    expect(md).toContain('| p:bad | ❌ failed |');
    expect(md).toContain('cache hits: 0 of 3');
  });
});

describe('run --frozen', () => {
  const FROZEN = `params: [params.yaml]
stages:
  prep:
    cmd: echo \${lr} > prep.txt; echo x >> count.log
    outs: [prep.txt]
  use:
    cmd: cat prep.txt > use.txt
    deps: [prep.txt]
    outs: [use.txt]
`;

  it('fails naming the stages, running nothing, when the lock files are stale', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': FROZEN, 'params.yaml': 'lr: 0.1\n' });
    expect(rig.run(['run']).code).toBe(0);
    rig.write({ 'params.yaml': 'lr: 0.2\n' });
    const r = rig.run(['run', '--frozen']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/p:prep: would run: .*param lr: 0\.1 → 0\.2/);
    expect(r.stderr).toContain('error: --frozen: the lock files are stale for p:prep');
    expect(rig.read('count.log')).toBe('x\n');
  });

  it('passes on a fresh clone whose lock files are current, and produces the outputs', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': FROZEN, 'params.yaml': 'lr: 0.1\n' });
    expect(rig.run(['run']).code).toBe(0);
    // A clone: lock files and sources only (no cache, no outputs).
    for (const p of ['.mlpipe', 'prep.txt', 'use.txt', 'count.log']) rmSync(join(rig.dir, p), { recursive: true, force: true });
    const r = rig.run(['run', '--frozen']);
    expect(r.code).toBe(0);
    expect(rig.read('use.txt')).toBe('0.1\n');
  });

  it('on a fresh clone, checks deps on files inside another stage\'s output directory (their hashes are in the lock)', () => {
    const DIR = `params: [params.yaml]
stages:
  prep:
    cmd: mkdir -p out && echo \${lr} > out/a.txt && echo fixed > out/b.txt
    outs: [out/]
  use:
    cmd: cat out/a.txt > use.txt
    deps: [out/a.txt]
    outs: [use.txt]
`;
    rig = new Rig().write({ 'pipelines/p.yaml': DIR, 'params.yaml': 'lr: 0.1\n' });
    expect(rig.run(['run']).code).toBe(0);
    expect(rig.read('pipelines/p.lock')).toMatch(/inner:\n\s+a\.txt:\n\s+hash: /);
    const clone = () => {
      for (const p of ['.mlpipe', 'out', 'use.txt']) rmSync(join(rig.dir, p), { recursive: true, force: true });
    };
    clone();
    expect(rig.run(['run', '--frozen']).code).toBe(0);
    // The producer reran alone with a new param and its lock was committed; the consumer's was not.
    rig.write({ 'params.yaml': 'lr: 0.2\n' });
    expect(rig.run(['run', 'p:prep', '--single']).code).toBe(0);
    clone();
    const r = rig.run(['run', '--frozen']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: --frozen: the lock files are stale for p:use');
    expect(r.stderr).toMatch(/p:use: would run: upstream p:prep produced new data: out\/a\.txt/);
  });
});
