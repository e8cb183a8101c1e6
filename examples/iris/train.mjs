// Stage "train" of the bundled iris pipeline: multinomial logistic regression
// by full-batch gradient descent on standardised features. Writes the model
// (weights, class names, feature scaling) and the loss curve.
// Usage: node train.mjs TRAIN.csv MODEL_DIR LR EPOCHS L2 LOSS_CSV
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const [input, modelDir, lr, epochs, l2, lossCsv] = process.argv.slice(2);
const [, ...lines] = readFileSync(input, 'utf8').trim().split('\n');
const rows = lines.map((l) => l.split(','));
const classes = [...new Set(rows.map((r) => r[r.length - 1]))].sort();
const X = rows.map((r) => r.slice(0, -1).map(Number));
const y = rows.map((r) => classes.indexOf(r[r.length - 1]));
const d = X[0].length;
const k = classes.length;

const mean = Array.from({ length: d }, (_, j) => X.reduce((s, x) => s + x[j], 0) / X.length);
const std = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, x) => s + (x[j] - mean[j]) ** 2, 0) / X.length) || 1);
const Z = X.map((x) => x.map((v, j) => (v - mean[j]) / std[j]));

const W = Array.from({ length: k }, () => new Array(d + 1).fill(0));
const softmax = (z) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const losses = [];
for (let epoch = 0; epoch < Number(epochs); epoch++) {
  const grad = Array.from({ length: k }, () => new Array(d + 1).fill(0));
  let loss = 0;
  Z.forEach((z, i) => {
    const p = softmax(W.map((w) => w[d] + z.reduce((s, v, j) => s + v * w[j], 0)));
    loss -= Math.log(Math.max(p[y[i]], 1e-12));
    for (let c = 0; c < k; c++) {
      const g = p[c] - (c === y[i] ? 1 : 0);
      for (let j = 0; j < d; j++) grad[c][j] += g * z[j];
      grad[c][d] += g;
    }
  });
  for (let c = 0; c < k; c++) for (let j = 0; j <= d; j++) W[c][j] -= Number(lr) * (grad[c][j] / Z.length + (j < d ? Number(l2) * W[c][j] : 0));
  losses.push(loss / Z.length);
}
mkdirSync(modelDir, { recursive: true });
writeFileSync(`${modelDir}/model.json`, JSON.stringify({ kind: 'softmax-regression', classes, mean, std, weights: W }, null, 2) + '\n');
mkdirSync(dirname(lossCsv), { recursive: true });
writeFileSync(lossCsv, ['epoch,loss', ...losses.map((l, i) => `${i + 1},${l.toFixed(6)}`)].join('\n') + '\n');
console.log(`final training loss ${losses[losses.length - 1].toFixed(4)}`);
