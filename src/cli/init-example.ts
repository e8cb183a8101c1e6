// The small runnable project `mlpipe init --example` writes: two stages in
// plain Node.js (no dependencies), a params file, a dataset, metrics and a
// plot, so the quick start works as written.

const RAW_CSV = (() => {
  // y = 3x + 2 with a little deterministic noise, 40 rows.
  const rows = ['x,y'];
  for (let i = 0; i < 40; i++) {
    const x = i / 4;
    const noise = (((i * 37) % 11) - 5) / 10;
    rows.push(`${x},${(3 * x + 2 + noise).toFixed(2)}`);
  }
  return `${rows.join('\n')}\n`;
})();

const PREPARE_JS = `// Splits data/raw.csv into data/prepared/{train,test}.csv: every fifth row is a test row.
const fs = require('fs');
const [input, outDir] = process.argv.slice(2);
const [header, ...rows] = fs.readFileSync(input, 'utf8').trim().split('\\n');
fs.mkdirSync(outDir, { recursive: true });
const pick = (test) => [header, ...rows.filter((_, i) => (i % 5 === 4) === test)].join('\\n') + '\\n';
fs.writeFileSync(outDir + '/train.csv', pick(false));
fs.writeFileSync(outDir + '/test.csv', pick(true));
console.log('split ' + rows.length + ' rows');
`;

const TRAIN_JS = `// Fits y = a*x + b by gradient descent; writes the model, metrics and the loss curve.
const fs = require('fs');
const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(' ')));
const lr = Number(args.lr);
const epochs = Number(args.epochs);
const read = (f) => fs.readFileSync(f, 'utf8').trim().split('\\n').slice(1).map((l) => l.split(',').map(Number));
const train = read('data/prepared/train.csv');
const test = read('data/prepared/test.csv');
const mse = (rows, a, b) => rows.reduce((s, [x, y]) => s + (a * x + b - y) ** 2, 0) / rows.length;
let a = 0;
let b = 0;
const curve = ['epoch,loss'];
for (let e = 1; e <= epochs; e++) {
  let ga = 0;
  let gb = 0;
  for (const [x, y] of train) {
    const err = a * x + b - y;
    ga += (2 * err * x) / train.length;
    gb += (2 * err) / train.length;
  }
  a -= lr * ga;
  b -= lr * gb;
  curve.push(e + ',' + mse(train, a, b).toFixed(5));
}
fs.mkdirSync('models/demo', { recursive: true });
fs.writeFileSync('models/demo/model.json', JSON.stringify({ a, b }) + '\\n');
fs.mkdirSync('metrics', { recursive: true });
fs.writeFileSync('metrics/train.json', JSON.stringify({ test_mse: Number(mse(test, a, b).toFixed(5)), a: Number(a.toFixed(4)), b: Number(b.toFixed(4)) }, null, 2) + '\\n');
fs.mkdirSync('plots', { recursive: true });
fs.writeFileSync('plots/loss.csv', curve.join('\\n') + '\\n');
console.log('test mse ' + mse(test, a, b).toFixed(4));
`;

const PARAMS_YAML = `train:
  lr: 0.01      # learning rate
  epochs: 50
`;

const PIPELINE_YAML = `# yaml-language-server: $schema=https://mlpipe.dev/schemas/pipeline.schema.json
# A first pipeline: split the data, then fit a line to it.
stages:
  prepare:
    cmd: node prepare.js data/raw.csv data/prepared
    deps: [data/raw.csv, prepare.js]
    outs: [data/prepared/]
  train:
    cmd: node train.js --lr \${train.lr} --epochs \${train.epochs}
    deps: [data/prepared/, train.js]
    outs: [models/demo/]
    metrics: [{ metrics/train.json: { cache: false } }]
    plots: [{ plots/loss.csv: { cache: false } }]
`;

/** Root-relative path → contents. */
export const EXAMPLE_FILES: Readonly<Record<string, string>> = {
  'data/raw.csv': RAW_CSV,
  'prepare.js': PREPARE_JS,
  'train.js': TRAIN_JS,
  'params.yaml': PARAMS_YAML,
  'pipelines/demo.yaml': PIPELINE_YAML,
};
