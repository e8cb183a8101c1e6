// Temp files of a killed writer: every temp name mlpipe writes (atomic writes,
// their async form, cache objects) is recognised with its writer's pid, and
// only a dead writer's are removed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDeadTemps } from '../../src/util/atomic-write.js';

const dir = mkdtempSync(join(tmpdir(), 'mlpipe-temps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('removeDeadTemps', () => {
  it('removes a dead writer\'s temp files of every kind and keeps the rest', () => {
    const dead = Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
    const live = process.pid;
    const names = (pid: number) => [`.p.lock.${pid}.1764000000000.tmp`, `.0123abcd.json.${pid}.1764000000000.k3j2.tmp`, `.tmp-${pid}-1764000000000-7`, `.1.2.lock.${pid}.1764000000000.tmp`];
    const others = ['p.lock', '.gitignore', '.tmp-notes', 'x.tmp'];
    for (const n of [...names(dead), ...names(live), ...others]) writeFileSync(join(dir, n), '');
    expect(removeDeadTemps(dir)).toBe(4);
    expect(readdirSync(dir).sort()).toEqual([...names(live), ...others].sort());
  });
});
