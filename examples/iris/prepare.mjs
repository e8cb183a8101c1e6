// Stage "prepare" of the bundled iris pipeline: a seeded, stratified
// train/test split of a CSV file with a header row and the label last.
// Usage: node prepare.mjs INPUT.csv OUT_DIR TEST_SIZE SEED
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const [input, outDir, testSize, seed] = process.argv.slice(2);
const [header, ...rows] = readFileSync(input, 'utf8').trim().split('\n');

// mulberry32: a small seeded generator, so the split is reproducible.
let state = Number(seed) >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const byLabel = new Map();
for (const row of rows) {
  const label = row.slice(row.lastIndexOf(',') + 1);
  byLabel.set(label, [...(byLabel.get(label) ?? []), row]);
}
const train = [];
const test = [];
for (const group of byLabel.values()) {
  for (let i = group.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [group[i], group[j]] = [group[j], group[i]];
  }
  const n = Math.round(group.length * Number(testSize));
  test.push(...group.slice(0, n));
  train.push(...group.slice(n));
}
mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}/train.csv`, [header, ...train].join('\n') + '\n');
writeFileSync(`${outDir}/test.csv`, [header, ...test].join('\n') + '\n');
console.log(`train: ${train.length} rows, test: ${test.length} rows`);
