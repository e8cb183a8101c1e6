// The stat index survives crashes: torn or corrupted lines are ignored, never
// trusted; a changed stat is a miss; files changed a moment ago are not recorded.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashFile, initHashing } from '../../src/cache/hash.js';
import { StatIndex } from '../../src/cache/stat-index.js';

let dir: string;
beforeAll(async () => initHashing());
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function oldFile(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  const past = new Date(Date.now() - 60_000);
  utimesSync(p, past, past);
  return p;
}

describe('StatIndex', () => {
  it('remembers hashes across loads and misses when the stat changes', () => {
    dir = mkdtempSync(join(tmpdir(), 'mlpipe-idx-'));
    const p = oldFile('a.txt', 'hello');
    const index = StatIndex.load(dir);
    const { hash } = hashFile(p);
    index.record('a.txt', statSync(p, { bigint: true }), hash);
    index.flush();
    const again = StatIndex.load(dir);
    expect(again.lookup('a.txt', statSync(p, { bigint: true }))).toBe(hash);
    writeFileSync(p, 'hellO');
    expect(again.lookup('a.txt', statSync(p, { bigint: true }))).toBeUndefined();
  });

  it('ignores a torn last line and a line whose checksum does not match', () => {
    dir = mkdtempSync(join(tmpdir(), 'mlpipe-idx-'));
    const a = oldFile('a.txt', 'a');
    const b = oldFile('b.txt', 'b');
    const index = StatIndex.load(dir);
    index.record('a.txt', statSync(a, { bigint: true }), hashFile(a).hash);
    index.flush();
    index.record('b.txt', statSync(b, { bigint: true }), hashFile(b).hash);
    index.flush();
    const file = join(dir, 'index', 'stat.jsonl');
    const [lineA, lineB] = readFileSync(file, 'utf8').trim().split('\n');
    // Tamper with b's hash but keep its checksum; append a torn line.
    const hashB = hashFile(b).hash;
    writeFileSync(file, `${lineA}\n${lineB!.replace(hashB, `0${hashB.slice(1)}`)}\n`);
    appendFileSync(file, lineA!.slice(0, 20));
    const loaded = StatIndex.load(dir);
    expect(loaded.lookup('a.txt', statSync(a, { bigint: true }))).toBe(hashFile(a).hash);
    expect(loaded.lookup('b.txt', statSync(b, { bigint: true }))).toBeUndefined();
  });

  it('does not persist a file modified a moment ago (it may change again within one timestamp tick)', () => {
    dir = mkdtempSync(join(tmpdir(), 'mlpipe-idx-'));
    const p = join(dir, 'new.txt');
    writeFileSync(p, 'fresh');
    const index = StatIndex.load(dir);
    index.record('new.txt', statSync(p, { bigint: true }), hashFile(p).hash);
    index.flush();
    expect(StatIndex.load(dir).lookup('new.txt', statSync(p, { bigint: true }))).toBeUndefined();
  });
});
