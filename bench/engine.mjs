// Engine micro-benchmarks (issue 4 targets), each against a baseline measured
// in the same run:
//   - a 1 GiB dep: first hash throughput, and the no-op with it unchanged
//     against the no-op of an empty-dep pipeline (stat index);
//   - a dep directory of 10,000 small files: the no-op;
//   - planning 10,000 stages (analysis + graph + selection, in process);
//   - peak memory of a 10,000-stage no-op (set up by a real run unless
//     BENCH_SKIP_10K=1).
import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, median, writeResults } from './lib.mjs';
import { shape, writers } from './shapes.mjs';

const BIN = join(REPO, 'bin', 'mlpipe.js');
const TMP = join(REPO, 'bench', 'tmp', 'engine');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function mlpipe(dir, args) {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`mlpipe ${args.join(' ')} in ${dir}: ${r.stderr.slice(-2000)}`);
  return { ms, rssMb: Number(r.stderr.trim().split('\n').filter((l) => /^\d+$/.test(l)).pop()) / 1024 };
}

function project(name, files) {
  const dir = join(TMP, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'pipelines'), { recursive: true });
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

const rows = [];
const row = (name, value, unit, extra = {}) => {
  rows.push({ bench: 'engine', name, value: Number(value.toFixed(2)), unit, ...extra });
  console.error(`${name}: ${value.toFixed(2)} ${unit}`);
};

// Baseline: a one-stage pipeline with a tiny dep.
const empty = project('empty', { 'in.txt': 'x\n', 'pipelines/p.yaml': 'stages:\n  s:\n    cmd: wc -c < in.txt > out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n' });
mlpipe(empty, ['run']);
mlpipe(empty, ['run']);

// 1 GiB dep.
const big = project('big', { 'pipelines/p.yaml': 'stages:\n  s:\n    cmd: wc -c < big.bin > out.txt\n    deps: [big.bin]\n    outs: [out.txt]\n' });
{
  const fd = openSync(join(big, 'big.bin'), 'w');
  const block = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  for (let i = 0; i < 128; i++) writeSync(fd, block);
  closeSync(fd);
}
// status hashes the file once when nothing is indexed (the stat index is
// removed before each round); the difference to the baseline's status is the
// hashing. The file is page-cached (it was just written): this measures the
// hasher, not the disk.
const baseStatus = median(Array.from({ length: ROUNDS }, () => mlpipe(empty, ['status']).ms));
const firstHash = median(
  Array.from({ length: ROUNDS }, () => {
    rmSync(join(big, '.mlpipe', 'index', 'stat.jsonl'), { force: true });
    return mlpipe(big, ['status']).ms;
  }),
);
const gbps = 1.073741824 / ((firstHash - baseStatus) / 1000);
row('1 GiB dep: first hash throughput', gbps, 'GB/s', { first_status_ms: firstHash, baseline_status_ms: baseStatus });
mlpipe(big, ['run']);
const bigNoop = [];
const emptyNoop = [];
for (let r = 0; r < ROUNDS; r++) {
  bigNoop.push(mlpipe(big, ['run']).ms);
  emptyNoop.push(mlpipe(empty, ['run']).ms);
}
row('1 GiB dep: no-op over the empty no-op', median(bigNoop) - median(emptyNoop), 'ms', { noop_ms: median(bigNoop), empty_noop_ms: median(emptyNoop) });
rmSync(big, { recursive: true, force: true });

// 10,000-file directory dep.
const files = {};
for (let i = 0; i < 10000; i++) files[`data/f${i}.txt`] = `file ${i}\n`;
const many = project('many', { ...files, 'pipelines/p.yaml': 'stages:\n  s:\n    cmd: ls data | wc -l > out.txt\n    deps: [data/]\n    outs: [out.txt]\n' });
mlpipe(many, ['run']);
mlpipe(many, ['run']); // files now older than the racy window: indexed
const manyNoop = Array.from({ length: ROUNDS }, () => mlpipe(many, ['run']).ms);
row('10,000-file directory dep: no-op', median(manyNoop), 'ms', { empty_noop_ms: median(emptyNoop) });
rmSync(many, { recursive: true, force: true });

// Planning 10,000 stages, in process (the parse cache cold, then warm).
const tenK = join(TMP, 'tenk');
rmSync(tenK, { recursive: true, force: true });
mkdirSync(tenK, { recursive: true });
writers.mlpipe(tenK, shape('lattice', 10000));
{
  const { analyze } = await import(join(REPO, 'dist', 'analysis.js'));
  const { selectStages } = await import(join(REPO, 'dist', 'graph', 'select.js'));
  const { ParseCache } = await import(join(REPO, 'dist', 'pipeline', 'parse-cache.js'));
  const plan = (cache) => {
    const t = performance.now();
    const a = analyze(tenK, undefined, undefined, cache);
    if (!a.ok) throw new Error(JSON.stringify(a.diagnostics.slice(0, 3).map((d) => d.message)));
    selectStages(a.graph, [], 'upstream');
    return performance.now() - t;
  };
  row('planning 10,000 stages (YAML parsed)', plan(ParseCache.none()), 'ms');
  const cache = ParseCache.load(join(tenK, '.mlpipe'));
  plan(cache);
  cache.flush();
  const warm = ParseCache.load(join(tenK, '.mlpipe'));
  row('planning 10,000 stages (parse cache warm)', plan(warm), 'ms');
}
if (process.env.BENCH_SKIP_10K !== '1') {
  const cold = mlpipe(tenK, ['run', '-j', '2', '--reporter', 'plain']);
  row('10,000-stage cold run', cold.ms / 1000, 's');
  mlpipe(tenK, ['run']);
  const noop = Array.from({ length: 3 }, () => mlpipe(tenK, ['run']));
  row('10,000-stage no-op: time', median(noop.map((n) => n.ms)), 'ms');
  row('10,000-stage no-op: peak RSS', Math.max(...noop.map((n) => n.rssMb)), 'MB');
}
rmSync(TMP, { recursive: true, force: true });

const table = [
  `# Engine micro-benchmarks (${new Date().toISOString().slice(0, 10)}, median of ${ROUNDS} where repeated)`,
  '',
  '| measure | value |',
  '| --- | ---: |',
  ...rows.map((r) => `| ${r.name} | ${r.value} ${r.unit} |`),
].join('\n');
writeResults('engine', rows, table);
console.log(table);
