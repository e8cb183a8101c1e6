// Training throughput: the same MLP (20 → 64 → 64 → 3, ReLU, Adam 1e-3,
// batch 64) on the same synthetic data (20,000 rows, 20 features, 3 classes),
// with mlpipe's train action on each available TensorFlow.js backend and with
// PyTorch on CPU (python3-torch from apt, 2 threads). Samples/second of the
// training loop only: for mlpipe, the difference between a 1-epoch and a
// 4-epoch run of the stage (so loading TensorFlow.js and the CSV cancel out);
// for PyTorch, the timed loop. Run: node bench/train.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, median, writeResults } from './lib.mjs';

const ROWS = 20000;
const FEATURES = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TMP = join(REPO, 'bench', 'tmp', 'train');
rmSync(TMP, { recursive: true, force: true });
mkdirSync(join(TMP, 'pipelines'), { recursive: true });

// Deterministic data: three Gaussian blobs in 20 dimensions.
let s = 12345;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const lines = [[...Array.from({ length: FEATURES }, (_, i) => `f${i}`), 'label'].join(',')];
for (let r = 0; r < ROWS; r++) {
  const c = r % 3;
  lines.push([...Array.from({ length: FEATURES }, (_, i) => (gauss() + (i % 3 === c ? 1.5 : 0)).toFixed(4)), `c${c}`].join(','));
}
writeFileSync(join(TMP, 'data.csv'), `${lines.join('\n')}\n`);

function mlpipeSeconds(backend, epochs) {
  writeFileSync(
    join(TMP, 'pipelines', 'p.yaml'),
    `stages:\n  train:\n    uses: mlpipe/train\n    with:\n      train: data.csv\n      label: label\n      layers: [{ type: dense, units: 64, activation: relu }, { type: dense, units: 64, activation: relu }]\n      optimizer: { name: adam, learningRate: 0.001 }\n      epochs: ${epochs}\n      batchSize: 64\n      out: model\n    deps: [data.csv]\n    outs: [model/]\n`,
  );
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'mlpipe.js'), 'run', '--force', '--json'], { cwd: TMP, encoding: 'utf8', env: { ...process.env, MLPIPE_TF_BACKEND: backend } });
  if (r.status !== 0) throw new Error(`mlpipe train (${backend}) failed: ${r.stderr.slice(-1000)}`);
  const done = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'stage-finished');
  return done.durationMs / 1000;
}

const rows = [];
const results = {};
for (const backend of ['tensorflow', 'wasm', 'cpu']) {
  try {
    const perRound = [];
    for (let i = 0; i < ROUNDS; i++) perRound.push((ROWS * 3) / (mlpipeSeconds(backend, 4) - mlpipeSeconds(backend, 1)));
    results[`mlpipe (${backend})`] = median(perRound);
  } catch (e) {
    results[`mlpipe (${backend})`] = `not available: ${String(e.message).split('\n').find((l) => /error/i.test(l)) ?? String(e.message).split('\n')[0]}`;
  }
}

const py = `
import csv, time, torch
torch.manual_seed(0); torch.set_num_threads(2)
rows = list(csv.reader(open('${join(TMP, 'data.csv')}')))[1:]
x = torch.tensor([[float(v) for v in r[:-1]] for r in rows]); x = (x - x.mean(0)) / x.std(0)
y = torch.tensor([int(r[-1][1:]) for r in rows])
m = torch.nn.Sequential(torch.nn.Linear(${FEATURES}, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
opt = torch.optim.Adam(m.parameters(), lr=1e-3); loss = torch.nn.CrossEntropyLoss()
def epoch():
  perm = torch.randperm(len(x))
  for i in range(0, len(x), 64):
    idx = perm[i:i+64]; opt.zero_grad(); l = loss(m(x[idx]), y[idx]); l.backward(); opt.step()
epoch()
t = time.perf_counter()
for _ in range(3): epoch()
print(3 * len(x) / (time.perf_counter() - t))
`;
// The first Python that can import torch (apt's python3-torch is for the system Python).
const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) ?? 'python3';
const torchRuns = [];
for (let i = 0; i < ROUNDS; i++) {
  const r = spawnSync(python, ['-c', py], { encoding: 'utf8' });
  if (r.status !== 0) {
    results['PyTorch (CPU, 2 threads)'] = `not available: ${r.stderr.trim().split('\n').pop()}`;
    break;
  }
  torchRuns.push(Number(r.stdout.trim()));
}
if (torchRuns.length) results['PyTorch (CPU, 2 threads)'] = median(torchRuns);

const torch = typeof results['PyTorch (CPU, 2 threads)'] === 'number' ? results['PyTorch (CPU, 2 threads)'] : undefined;
const table = [`# Training throughput (${ROWS} rows × ${FEATURES} features, MLP 64-64, batch 64, median of ${ROUNDS}, ${new Date().toISOString().slice(0, 10)})`, '', '| trainer | samples/s | × PyTorch |', '| --- | ---: | ---: |'];
for (const [name, v] of Object.entries(results)) {
  if (typeof v === 'number') {
    rows.push({ bench: 'train', trainer: name, samples_per_s: Math.round(v), ratio_to_torch: torch ? Number((v / torch).toFixed(3)) : null });
    table.push(`| ${name} | ${Math.round(v)} | ${torch ? (v / torch).toFixed(2) : '—'} |`);
  } else {
    rows.push({ bench: 'train', trainer: name, unavailable: v });
    table.push(`| ${name} | ${v} | — |`);
  }
}
writeResults('train', rows, table.join('\n'));
console.log(table.join('\n'));
rmSync(TMP, { recursive: true, force: true });
