// `mlpipe serve` under load (autocannon, concurrency 32): requests/s and
// p50/p99 latency for 1-row and 100-row MLflow requests (dataframe_split) to
// the bundled iris package, against a bare fastify route that parses the body
// and answers a constant (bench/serve-bare.mjs). Rounds alternate between the
// two servers; medians are reported, and the ratio is mlpipe's overhead.
// Needs the bundled pipeline's package: it runs `mlpipe run iris` first.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { REPO, median, writeResults } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const ROUNDS = option('--rounds', 3);
const SECONDS = option('--seconds', 8);
const BIN = join(REPO, 'bin', 'mlpipe.js');

const prepared = spawnSync(process.execPath, [BIN, 'run', 'iris', '--reporter', 'plain'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
if (prepared.status !== 0) throw new Error('mlpipe run iris failed');

function start(argv) {
  const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = / on (http:\/\/\S+) /.exec(err);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

const test = readFileSync(join(REPO, 'data', 'prepared', 'test.csv'), 'utf8').trim().split('\n');
const columns = test[0].split(',').slice(0, 4);
const rows = test.slice(1).map((l) => l.split(',').slice(0, 4).map(Number));
const body = (n) => JSON.stringify({ dataframe_split: { columns, data: Array.from({ length: n }, (_, i) => rows[i % rows.length]) } });

async function load(url, payload) {
  const r = await autocannon({ url: `${url}/invocations`, method: 'POST', connections: 32, duration: SECONDS, headers: { 'content-type': 'application/json' }, body: payload });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

const servers = {
  bare: await start([join(REPO, 'bench', 'serve-bare.mjs')]),
  mlpipe: await start([BIN, 'serve', 'models/iris-package', '--port', '0']),
};
const results = [];
try {
  for (const n of [1, 100]) {
    const payload = body(n);
    const samples = { bare: [], mlpipe: [] };
    // Warm-up (JIT, TF.js kernels), then alternating rounds.
    for (const s of Object.keys(servers)) await autocannon({ url: `${servers[s].url}/invocations`, method: 'POST', connections: 8, amount: 500, headers: { 'content-type': 'application/json' }, body: payload });
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of round % 2 === 0 ? ['bare', 'mlpipe'] : ['mlpipe', 'bare']) samples[s].push(await load(servers[s].url, payload));
    }
    const med = (s, k) => median(samples[s].map((x) => x[k]));
    const row = { rows: n, bare_rps: med('bare', 'rps'), mlpipe_rps: med('mlpipe', 'rps'), bare_p50: med('bare', 'p50'), mlpipe_p50: med('mlpipe', 'p50'), bare_p99: med('bare', 'p99'), mlpipe_p99: med('mlpipe', 'p99') };
    row.throughput_ratio = row.mlpipe_rps / row.bare_rps;
    results.push(row);
    console.log(`${n} row(s): mlpipe ${row.mlpipe_rps.toFixed(0)} req/s (p50 ${row.mlpipe_p50} ms, p99 ${row.mlpipe_p99} ms) vs bare fastify ${row.bare_rps.toFixed(0)} req/s (p50 ${row.bare_p50} ms, p99 ${row.bare_p99} ms): ${(row.throughput_ratio * 100).toFixed(1)}% of bare throughput`);
  }
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
}

const md = [
  `# mlpipe serve under load (autocannon, 32 connections, ${SECONDS} s × ${ROUNDS} alternating rounds, medians)`,
  '',
  'Bundled iris package (4 inputs → 3 classes, TensorFlow.js backend as chosen by default) against a bare fastify route that parses the body and returns a constant.',
  '',
  '| rows per request | mlpipe req/s | bare req/s | mlpipe / bare | mlpipe p50 ms | bare p50 ms | mlpipe p99 ms | bare p99 ms |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.rows} | ${r.mlpipe_rps.toFixed(0)} | ${r.bare_rps.toFixed(0)} | ${r.throughput_ratio.toFixed(2)} | ${r.mlpipe_p50} | ${r.bare_p50} | ${r.mlpipe_p99} | ${r.bare_p99} |`),
].join('\n');
writeResults('serve', results, md);
console.log(`\n${md}`);
