// Hash choice benchmark: throughput of candidate content hashes on a file made
// at bench time (page-cached, so it measures hashing plus the read), and the
// cost of a stat-indexed "re-hash" of the same file. The winner is what
// src/cache/hash.ts uses; the README quotes this table.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, median, writeResults } from './lib.mjs';

const { initHashing, hashFile } = await import(join(REPO, 'dist', 'cache', 'hash.js'));
const { StatIndex } = await import(join(REPO, 'dist', 'cache', 'stat-index.js'));
await initHashing();

const SIZE = Number(process.env.BENCH_HASH_MB ?? 512) * 1024 * 1024;
const dir = join(REPO, 'bench', 'tmp', 'hash');
mkdirSync(dir, { recursive: true });
const file = join(dir, 'data.bin');
const block = Buffer.alloc(4 * 1024 * 1024);
for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
const fd0 = openSync(file, 'w');
for (let written = 0; written < SIZE; written += block.length) writeFileSync(fd0, block);
closeSync(fd0);

// Reads into a buffer half a page off page alignment, as hashFile does: a
// buffer 16 bytes past a page boundary (where a fresh large allocation starts)
// reads ~5x slower from the page cache here (4K aliasing in the kernel's copy).
function streamed(update, offset = 2048) {
  const buf = Buffer.allocUnsafeSlow(4 * 1024 * 1024 + 4096).subarray(offset, offset + 4 * 1024 * 1024);
  const fd = openSync(file, 'r');
  let n;
  while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) update(buf.subarray(0, n));
  closeSync(fd);
}
const candidates = {
  'read only (no hash)': () => streamed(() => {}),
  'read only, buffer at a fresh allocation (16 bytes past a page)': () => streamed(() => {}, 0),
  'xxh3-128, hash-wasm (mlpipe hashFile)': () => hashFile(file),
  ...Object.fromEntries(['md5', 'sha1', 'sha256', 'blake2b512'].map((a) => [`${a} (node crypto)`, () => {
    const h = createHash(a);
    streamed((b) => h.update(b));
    h.digest();
  }])),
};
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const rows = [];
for (const [name, fn] of Object.entries(candidates)) {
  fn(); // warm the page cache and the code
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  const ms = median(times);
  rows.push({ bench: 'hash', candidate: name, mb: SIZE / 1048576, median_ms: Number(ms.toFixed(1)), gb_per_s: Number((SIZE / 1e9 / (ms / 1000)).toFixed(2)) });
}
// Stat-indexed: the second look at an unchanged file reads its stat only.
const index = StatIndex.load(join(dir, 'state'));
const past = new Date(Date.now() - 60_000);
(await import('node:fs')).utimesSync(file, past, past);
const st = statSync(file, { bigint: true });
index.record('data.bin', st, hashFile(file).hash);
const t = performance.now();
for (let i = 0; i < 1000; i++) index.lookup('data.bin', statSync(file, { bigint: true }));
rows.push({ bench: 'hash', candidate: 'stat-indexed lookup (unchanged file)', mb: SIZE / 1048576, median_ms: Number(((performance.now() - t) / 1000).toFixed(4)), gb_per_s: null });
rmSync(dir, { recursive: true, force: true });

const table = [
  `# Content hashing (${SIZE / 1048576} MiB file, page-cached, median of ${rounds}, ${new Date().toISOString().slice(0, 10)})`,
  '',
  '| candidate | ms | GB/s |',
  '| --- | ---: | ---: |',
  ...rows.map((r) => `| ${r.candidate} | ${r.median_ms} | ${r.gb_per_s ?? '—'} |`),
].join('\n');
writeResults('hash', rows, table);
console.log(table);
