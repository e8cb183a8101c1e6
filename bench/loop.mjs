// The lifecycle loop (issue 16 targets), each measured against a baseline in
// the same run:
//   - evaluating conditions adds ≤ 1 ms per stage: 1,000 stages that each read
//     an upstream stage's metric in `if:` against the same 1,000 stages ordered
//     after that stage by `needs` (the same graph, no condition) — a cold run
//     (-j 2), a no-op and `status`; and the same 1,000 conditions false (every
//     stage skipped) against the plain no-op;
//   - the bundled loop example (pipelines/iris-loop.yaml) in a fresh copy of
//     the project, cold (which runs the iris stages it reads first), then with
//     a drifted batch dropped in (retrain, evaluate against the champion,
//     promote): target ≤ 30 s on 2 cores.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, median, timeInterleaved, writeResults } from './lib.mjs';

const BIN = join(REPO, 'bin', 'mlpipe.js');
const TMP = join(REPO, 'bench', 'tmp', 'loop');
const N = Number(process.env.BENCH_CONDITIONS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function mlpipe(dir, args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`mlpipe ${args.join(' ')} in ${dir}: ${r.stderr.slice(-2000)}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** 1,000 stages after a monitor stage: gated by `if:` on its metric, or ordered by `needs`. */
function project(name, gate) {
  const dir = join(TMP, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'pipelines'), { recursive: true });
  writeFileSync(join(dir, 'params.yaml'), `gate:\n  threshold: ${gate === 'false' ? 0.9 : 0.3}\n`);
  const lines = ['stages:', '  monitor:', `    cmd: "echo '{\\"drift_share\\": 0.5}' > m.json"`, '    metrics: [m.json]'];
  for (let i = 0; i < N; i++) {
    lines.push(`  s${i}:`, `    cmd: echo ${i} > out/${i}.txt`, `    outs: [out/${i}.txt]`);
    lines.push(gate === 'needs' ? '    needs: [monitor]' : '    if: ${stages.monitor.metrics.drift_share} > ${gate.threshold}');
  }
  writeFileSync(join(dir, 'pipelines', 'p.yaml'), `${lines.join('\n')}\n`);
  mkdirSync(join(dir, 'out'));
  return dir;
}

const rows = [];
const lines = [`## ${N.toLocaleString('en')} conditional stages (target: conditions add ≤ 1 ms per stage)`, '', `Medians of ${ROUNDS} rounds, interleaved; \`needs\` is the same graph without conditions.`, '', '| case | needs (ms) | if: true (ms) | if: false, all skipped (ms) | added per stage, true (ms) | added per stage, false (ms) |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
rmSync(TMP, { recursive: true, force: true });
const dirs = { needs: project('needs', 'needs'), true: project('true', 'true'), false: project('false', 'false') };

// Cold: every round from nothing (state and outputs removed).
const cold = { needs: [], true: [], false: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, dir] of Object.entries(dirs)) {
    rmSync(join(dir, '.mlpipe'), { recursive: true, force: true });
    rmSync(join(dir, 'pipelines', 'p.lock'), { force: true });
    rmSync(join(dir, 'out'), { recursive: true, force: true });
    mkdirSync(join(dir, 'out'));
    cold[k].push(mlpipe(dir, ['run', '-j', '2', '--reporter', 'plain']));
  }
}
const per = (a, b) => ((a - b) / N).toFixed(3);
const addRow = (name, m) => {
  lines.push(`| ${name} | ${m.needs.toFixed(0)} | ${m.true.toFixed(0)} | ${m.false.toFixed(0)} | ${per(m.true, m.needs)} | ${per(m.false, m.needs)} |`);
  rows.push({ bench: 'conditions', case: name, stages: N, needs_ms: Math.round(m.needs), true_ms: Math.round(m.true), false_ms: Math.round(m.false), per_stage_true_ms: Number(per(m.true, m.needs)), per_stage_false_ms: Number(per(m.false, m.needs)) });
};
addRow('cold run -j 2', { needs: median(cold.needs), true: median(cold.true), false: median(cold.false) });
for (const [name, args] of [['no-op run', ['run', '--reporter', 'plain']], ['status', ['status']]]) {
  const samples = timeInterleaved(
    Object.entries(dirs).map(([k, dir]) => ({ name: k, argv: [process.execPath, BIN, ...args], cwd: dir, env: { NO_COLOR: '1' } })),
    { rounds: ROUNDS, warmup: 1 },
  );
  addRow(name, { needs: median(samples.needs), true: median(samples.true), false: median(samples.false) });
}

// The bundled loop in a fresh copy of the project (no cache): cold, then a drifted batch.
const copy = join(TMP, 'project');
rmSync(copy, { recursive: true, force: true });
mkdirSync(copy, { recursive: true });
for (const p of ['pipelines', 'data', 'examples', 'registry', 'params.yaml']) cpSync(join(REPO, p), join(copy, p), { recursive: true });
const coldLoop = mlpipe(copy, ['run', 'iris-loop', '-j', '2', '--reporter', 'plain']);
copyFileSync(join(REPO, 'examples', 'iris-loop', 'batches', 'shifted.csv'), join(copy, 'data', 'iris-loop', 'incoming', 'batch-002.csv'));
const drifted = mlpipe(copy, ['run', 'iris-loop', '-j', '2', '--reporter', 'plain']);
const noop = mlpipe(copy, ['run', 'iris-loop', '--reporter', 'plain']);
lines.push(
  '',
  '## The bundled lifecycle loop on a fresh copy of the project, 2 cores (target: ≤ 30 s)',
  '',
  '| step | s |',
  '| --- | ---: |',
  `| \`mlpipe run iris-loop\`, cold (runs the iris stages it reads: split, tune, train, evaluate, register; the bundled batch does not drift: retraining skipped) | ${(coldLoop / 1000).toFixed(1)} |`,
  `| a drifted batch dropped in: monitor, augment, retrain, evaluate against iris@production, promote, report | ${(drifted / 1000).toFixed(1)} |`,
  `| the whole loop from nothing to a promoted challenger | ${((coldLoop + drifted) / 1000).toFixed(1)} |`,
  `| no-op after it | ${(noop / 1000).toFixed(2)} |`,
);
rows.push({ bench: 'loop-example', cold_ms: Math.round(coldLoop), drifted_ms: Math.round(drifted), total_ms: Math.round(coldLoop + drifted), noop_ms: Math.round(noop) });
rmSync(TMP, { recursive: true, force: true });

const table = lines.join('\n');
writeResults('loop', rows, table);
console.log(table);
