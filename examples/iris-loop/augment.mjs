// The retraining data of the lifecycle loop (pipelines/iris-loop.yaml): the
// training split plus 70% of the newest labelled batch (in the name order
// mlpipe/monitor uses), and the test split plus the other 30%, so that the
// challenger and the champion are scored on rows of the new distribution that
// neither was trained on. Rows are assigned by a seeded shuffle. Plain
// Node.js, no packages: a stage's script runs wherever the pipeline does.
//   node augment.mjs PREPARED_DIR INCOMING_DIR OUT_DIR SEED
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const [prepared, incoming, out, seed] = process.argv.slice(2);
const batches = readdirSync(incoming)
  .filter((f) => /\.(csv)$/i.test(f))
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
if (batches.length === 0) throw new Error(`${incoming} holds no CSV batches`);
const newest = join(incoming, batches[batches.length - 1]);
const lines = (file) => readFileSync(file, 'utf8').trim().split('\n');
const [header, ...rows] = lines(newest);
const next = random(Number(seed));
for (let i = rows.length - 1; i > 0; i--) {
  const j = Math.floor(next() * (i + 1));
  [rows[i], rows[j]] = [rows[j], rows[i]];
}
const cut = Math.round(rows.length * 0.7);
const withHeader = (file, extra) => {
  const [h, ...r] = lines(file);
  if (h !== header) throw new Error(`${newest} has columns ${header}, but ${file} has ${h}`);
  return `${h}\n${[...r, ...extra].join('\n')}\n`;
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'train.csv'), withHeader(join(prepared, 'train.csv'), rows.slice(0, cut)));
writeFileSync(join(out, 'test.csv'), withHeader(join(prepared, 'test.csv'), rows.slice(cut)));
console.log(`${newest}: ${cut} rows added to training, ${rows.length - cut} to the test rows`);
