// Makes data/iris-production.csv: a "production batch" for the bundled
// monitoring stage — 60 iris rows drawn with a fixed seed, as if measured by a
// recalibrated instrument (petal lengths +1.2 cm, petal widths +0.35 cm, sepal
// widths −0.3 cm) with a few cells left empty. The labels are kept, so the
// monitor can also score the model on it. Run once; the CSV is committed.
import { readFileSync, writeFileSync } from 'node:fs';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

const [header, ...rows] = readFileSync(new URL('../../data/iris.csv', import.meta.url), 'utf8').trim().split('\n');
const columns = header.split(',');
const col = (name) => columns.indexOf(name);
const rng = xoroshiro128plus(2026);
const out = [];
for (let k = 0; k < 60; k++) {
  const cells = rows[uniformInt(rng, 0, rows.length - 1)].split(',');
  const shift = (name, by) => (cells[col(name)] = (Number(cells[col(name)]) + by).toFixed(1));
  shift('petal_length', 1.2);
  shift('petal_width', 0.35);
  shift('sepal_width', -0.3);
  if (k % 20 === 7) cells[col('sepal_length')] = '';
  out.push(cells.join(','));
}
writeFileSync(new URL('../../data/iris-production.csv', import.meta.url), `${header}\n${out.join('\n')}\n`);
