// Stage "evaluate" of the bundled iris pipeline: accuracy and per-class
// recall of the model on the test split, and a quality gate that fails the
// stage (exit 1) when accuracy is below the minimum.
// Usage: node evaluate.mjs MODEL_DIR TEST.csv METRICS.json MIN_ACCURACY
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const [modelDir, input, metricsFile, minAccuracy] = process.argv.slice(2);
const model = JSON.parse(readFileSync(`${modelDir}/model.json`, 'utf8'));
const [, ...lines] = readFileSync(input, 'utf8').trim().split('\n');
const d = model.mean.length;
let correct = 0;
const perClass = Object.fromEntries(model.classes.map((c) => [c, { n: 0, correct: 0 }]));
for (const line of lines) {
  const cells = line.split(',');
  const z = cells.slice(0, d).map((v, j) => (Number(v) - model.mean[j]) / model.std[j]);
  const scores = model.weights.map((w) => w[d] + z.reduce((s, v, j) => s + v * w[j], 0));
  const predicted = model.classes[scores.indexOf(Math.max(...scores))];
  const actual = cells[d];
  perClass[actual].n++;
  if (predicted === actual) {
    correct++;
    perClass[actual].correct++;
  }
}
const accuracy = correct / lines.length;
const metrics = {
  accuracy: Number(accuracy.toFixed(4)),
  recall: Object.fromEntries(Object.entries(perClass).map(([c, v]) => [c, Number((v.correct / v.n).toFixed(4))])),
  test_rows: lines.length,
};
mkdirSync(dirname(metricsFile), { recursive: true });
writeFileSync(metricsFile, JSON.stringify(metrics, null, 2) + '\n');
console.log(`accuracy ${metrics.accuracy} on ${lines.length} test rows`);
if (accuracy < Number(minAccuracy)) {
  console.error(`quality gate failed: accuracy ${metrics.accuracy} < ${minAccuracy}`);
  process.exit(1);
}
