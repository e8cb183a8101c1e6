// The retraining data of the lifecycle loop (pipelines/iris-loop.yaml): the
// training split plus 70% of the newest labelled batch (in the name order
// mlpipe/monitor uses), and the test split plus the other 30%, so that the
// challenger and the champion are scored on rows of the new distribution that
// neither was trained on. Rows are assigned by a seeded shuffle.
//   node augment.mjs PREPARED_DIR INCOMING_DIR OUT_DIR SEED
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

const [prepared, incoming, out, seed] = process.argv.slice(2);
const batches = readdirSync(incoming)
  .filter((f) => /\.(csv)$/i.test(f))
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
if (batches.length === 0) throw new Error(`${incoming} holds no CSV batches`);
const newest = join(incoming, batches[batches.length - 1]);
const lines = (file) => readFileSync(file, 'utf8').trim().split('\n');
const [header, ...rows] = lines(newest);
const rng = xoroshiro128plus(Number(seed));
for (let i = rows.length - 1; i > 0; i--) {
  const j = uniformInt(rng, 0, i);
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
