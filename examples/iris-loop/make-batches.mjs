// Makes the example batches of the lifecycle loop (pipelines/iris-loop.yaml),
// 45 labelled iris rows each, drawn with fixed seeds from data/iris.csv:
//   typical.csv      as measured in training: no drift
//   shifted.csv      a recalibrated instrument: petal lengths +1.6 cm, petal
//                    widths +0.5 cm, sepal widths −0.4 cm (labels true): drift
//                    that retraining on it can learn
//   mislabelled.csv  shifted like shifted.csv, with species labels drawn at
//                    random (a broken labelling job): drift whose retrained
//                    challenger does not beat the champion
// Run once (node examples/iris-loop/make-batches.mjs); the CSVs are committed.
// typical.csv is also the first batch in data/iris-loop/incoming/.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

const [header, ...rows] = readFileSync(new URL('../../data/iris.csv', import.meta.url), 'utf8').trim().split('\n');
const columns = header.split(',');
const col = (name) => columns.indexOf(name);
const species = ['setosa', 'versicolor', 'virginica'];

function batch(seed, change) {
  const rng = xoroshiro128plus(seed);
  const out = [];
  for (let k = 0; k < 45; k++) {
    const cells = rows[uniformInt(rng, 0, rows.length - 1)].split(',');
    change(cells);
    out.push(cells.join(','));
  }
  return `${header}\n${out.join('\n')}\n`;
}
const shift = (cells, name, by) => (cells[col(name)] = (Number(cells[col(name)]) + by).toFixed(1));
const shifted = (cells) => {
  shift(cells, 'petal_length', 1.6);
  shift(cells, 'petal_width', 0.5);
  shift(cells, 'sepal_width', -0.4);
};
const dir = new URL('./batches/', import.meta.url);
const labels = xoroshiro128plus(14);
writeFileSync(new URL('typical.csv', dir), batch(11, () => {}));
writeFileSync(new URL('shifted.csv', dir), batch(12, shifted));
writeFileSync(
  new URL('mislabelled.csv', dir),
  batch(13, (cells) => {
    shifted(cells);
    cells[col('species')] = species[uniformInt(labels, 0, 2)];
  }),
);
copyFileSync(new URL('typical.csv', dir), new URL('../../data/iris-loop/incoming/batch-001.csv', import.meta.url));
