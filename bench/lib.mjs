// Shared helpers for benchmarks: timing commands in interleaved rounds (so a
// noisy machine slows every contender alike), medians, and result files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS = join(REPO, 'bench', 'results');

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs each command once per round, for `rounds` rounds; returns ms samples per name. */
export function timeInterleaved(commands, { rounds = 30, warmup = 3, cwd = REPO } = {}) {
  const samples = Object.fromEntries(commands.map((c) => [c.name, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (const c of commands) {
      const start = process.hrtime.bigint();
      const res = spawnSync(c.argv[0], c.argv.slice(1), { cwd: c.cwd ?? cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...c.env } });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (res.status !== (c.expectStatus ?? 0)) throw new Error(`${c.name} exited ${res.status}: ${res.stderr}`);
      if (r >= warmup) samples[c.name].push(ms);
    }
  }
  return samples;
}

/** Writes JSON lines and a Markdown table for one benchmark. */
export function writeResults(name, rows, markdown) {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString();
  for (const row of rows) appendFileSync(join(RESULTS, `${name}.jsonl`), `${JSON.stringify({ at: stamp, ...row })}\n`);
  writeFileSync(join(RESULTS, `${name}.md`), `${markdown}\n`);
}
