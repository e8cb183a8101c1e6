// Comparing and experimenting, timed side by side in one run:
//   1. `exp show` with 1,000 recorded experiments (made with git fast-import
//      in a synthetic project), against `node -e 0` (target: under 1 s).
//   2. `metrics diff HEAD~1` on the bundled project, against `node -e 0` plus
//      one `git cat-file --batch` process reading the same files
//      (target: at most 2× their sum).
//   3. A 4-experiment sweep of the bundled iris pipeline at -j 2, against four
//      sequential `exp run`s of one experiment each (target: ≤ 0.6× their
//      time), counting from the run records how often each stage ran
//      (shared stages: exactly once).
// BENCH_ROUNDS (default 10) rounds for 1 and 2; BENCH_SWEEP_ROUNDS (default 2) for 3.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, median, timeInterleaved, writeResults } from './lib.mjs';

const node = process.execPath;
const bin = join(REPO, 'bin', 'mlpipe.js');
const rounds = Number(process.env.BENCH_ROUNDS ?? 10);
const sweepRounds = Number(process.env.BENCH_SWEEP_ROUNDS ?? 2);
const gitEnv = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@b' };

function sh(cwd, cmd, args, input) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', input, env: { ...process.env, ...gitEnv }, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// ---- 1. exp show with 1,000 experiments ----
function expShowProject(count) {
  const dir = mkdtempSync(join(tmpdir(), 'mlpipe-bench-exps-'));
  const params = (lr, units) => `# training\ntrain:\n  lr: ${lr}   # learning rate\n  units: ${units}\n  epochs: 20\nprep:\n  n: 3\n`;
  const metrics = (i) => `${JSON.stringify({ score: i / count, loss: 1 - i / count, detail: { acc: (i % 97) / 97, f1: (i % 89) / 89 } })}\n`;
  const files = {
    '.gitignore': '/.mlpipe/\n',
    'params.yaml': params(0.1, 16),
    'metrics/train.json': metrics(0),
    'train.js': "console.log('train')\n",
    'pipelines/p.yaml': 'stages:\n  train:\n    cmd: node train.js\n    deps: [train.js]\n    params: [train.lr, train.units]\n    metrics: [{metrics/train.json: {cache: false}}]\n',
  };
  for (const [p, t] of Object.entries(files)) {
    spawnSync('mkdir', ['-p', join(dir, p, '..')]);
    writeFileSync(join(dir, p), t);
  }
  sh(dir, 'git', ['init', '-q', '-b', 'main']);
  sh(dir, 'git', ['add', '-A']);
  sh(dir, 'git', ['commit', '-qm', 'base']);
  const base = sh(dir, 'git', ['rev-parse', 'HEAD']).trim();
  // One fast-import stream: each experiment a commit on top of the base, changing params.yaml and the metrics.
  const blob = (text) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let stream = '';
  const t = 1_790_000_000;
  for (let i = 1; i <= count; i++) {
    const lr = (0.001 * i).toFixed(3);
    const msg = `mlpipe experiment: e${i}\n\nstate: done\nset: train.lr=${lr}\nset: train.units=${16 + (i % 4) * 16}\n`;
    stream += `commit refs/exps/${base}/e${i}\ncommitter bench <b@b> ${t + i} +0000\n${blob(msg).replace(/^data/, 'data')}from ${base}\n`;
    stream += `M 100644 inline params.yaml\n${blob(params(lr, 16 + (i % 4) * 16))}`;
    stream += `M 100644 inline metrics/train.json\n${blob(metrics(i))}\n`;
  }
  sh(dir, 'git', ['fast-import', '--quiet'], stream);
  return dir;
}

// ---- 2. the bundled project with two commits ----
function bundledClone() {
  const dir = mkdtempSync(join(tmpdir(), 'mlpipe-bench-bundled-'));
  sh(REPO, 'git', ['clone', '-q', REPO, dir]);
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  sh(dir, 'sh', ['-c', 'echo node_modules >> .git/info/exclude']);
  cpSync(join(REPO, 'dist'), join(dir, 'dist'), { recursive: true });
  return dir;
}

const rows = [];
const lines = [`# Comparing and experimenting (${new Date().toISOString().slice(0, 10)}, Node ${process.version}; medians)`, ''];

{
  const dir = expShowProject(1000);
  try {
    const n = Number(sh(dir, node, [bin, 'exp', 'list', '--json']).length > 0 ? JSON.parse(sh(dir, node, [bin, 'exp', 'list', '--json'])).length : 0);
    if (n !== 1000) throw new Error(`expected 1000 experiments, found ${n}`);
    const samples = timeInterleaved(
      [
        { name: 'node -e 0', argv: [node, '-e', '0'] },
        { name: 'exp show (1,000 experiments)', argv: [node, bin, 'exp', 'show'] },
        { name: 'exp show --json (1,000 experiments)', argv: [node, bin, 'exp', 'show', '--json'] },
      ],
      { rounds, warmup: 1, cwd: dir },
    );
    const base = median(samples['node -e 0']);
    lines.push('## exp show with 1,000 experiments (target: < 1 s)', '', '| command | median ms | × node -e 0 |', '| --- | ---: | ---: |');
    for (const [name, s] of Object.entries(samples)) {
      const m = median(s);
      rows.push({ bench: 'exp-show', command: name, median_ms: Number(m.toFixed(1)), ratio_to_node: Number((m / base).toFixed(2)), rounds });
      lines.push(`| \`${name}\` | ${m.toFixed(0)} | ${(m / base).toFixed(2)} |`);
    }
    lines.push('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const clone = bundledClone();
try {
  // A second commit: the same project with a changed param and rerun, so HEAD~1 and HEAD differ in metrics.
  sh(clone, node, [bin, 'run']);
  const files = sh(clone, 'git', ['ls-tree', '-r', '--name-only', 'HEAD~0', '--', 'pipelines', 'params.yaml', 'metrics']).trim().split('\n');
  const catInput = files.map((f) => `HEAD~1:${f}\nHEAD:${f}`).join('\n') + '\n';
  writeFileSync(join(clone, '.git', 'cat-input'), catInput);
  const samples = timeInterleaved(
    [
      { name: 'node -e 0', argv: [node, '-e', '0'] },
      { name: `git cat-file --batch (${files.length * 2} files)`, argv: ['sh', '-c', 'git cat-file --batch < .git/cat-input > /dev/null'] },
      { name: 'mlpipe metrics diff HEAD~1', argv: [node, bin, 'metrics', 'diff', 'HEAD~1'] },
      { name: 'mlpipe params diff HEAD~1', argv: [node, bin, 'params', 'diff', 'HEAD~1'] },
    ],
    { rounds, warmup: 2, cwd: clone },
  );
  const nodeMs = median(samples['node -e 0']);
  const catMs = median(samples[`git cat-file --batch (${files.length * 2} files)`]);
  lines.push('## metrics diff HEAD~1 on the bundled project (target: ≤ 2× node -e 0 + one git cat-file)', '', '| command | median ms | × (node -e 0 + cat-file) |', '| --- | ---: | ---: |');
  for (const [name, s] of Object.entries(samples)) {
    const m = median(s);
    rows.push({ bench: 'metrics-diff', command: name, median_ms: Number(m.toFixed(1)), ratio_to_floor: Number((m / (nodeMs + catMs)).toFixed(2)), rounds });
    lines.push(`| \`${name}\` | ${m.toFixed(0)} | ${(m / (nodeMs + catMs)).toFixed(2)} |`);
  }
  lines.push('');

  // ---- 3. a 4-experiment sweep vs four sequential exp runs ----
  // split.seed=43 in every experiment: split and tune are stale, with one key in all four (shared stages).
  const combos = [
    ['split.seed=43', 'train.batch_size=8', 'train.seed=2'],
    ['split.seed=43', 'train.batch_size=8', 'train.seed=3'],
    ['split.seed=43', 'train.batch_size=32', 'train.seed=2'],
    ['split.seed=43', 'train.batch_size=32', 'train.seed=3'],
  ];
  const sweepMs = [];
  const seqMs = [];
  let counts;
  for (let r = 0; r < sweepRounds; r++) {
    // Each round starts from the same cache: the bundled outputs only (the experiments' results are new every time).
    const fresh = () => {
      rmSync(join(clone, '.mlpipe', 'run-cache'), { recursive: true, force: true });
      rmSync(join(clone, '.mlpipe', 'runs'), { recursive: true, force: true });
      for (const ref of sh(clone, 'git', ['for-each-ref', '--format=%(refname)', 'refs/exps/']).split('\n').filter(Boolean)) sh(clone, 'git', ['update-ref', '-d', ref]);
      sh(clone, node, [bin, 'run', '--force']); // the run-cache again holds the bundled results only
    };
    const timeIt = (args) => {
      const start = process.hrtime.bigint();
      sh(clone, node, [bin, ...args]);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const order = r % 2 === 0 ? ['sweep', 'seq'] : ['seq', 'sweep'];
    for (const which of order) {
      fresh();
      if (which === 'sweep') {
        sweepMs.push(timeIt(['exp', 'run', '-j', '2', '-n', `s${r}`, '--set', 'split.seed=43', '--set', 'train.batch_size=8,32', '--set', 'train.seed=2,3']));
        const runsDir = join(clone, '.mlpipe', 'runs');
        const records = readdirSync(runsDir).map((f) => JSON.parse(readFileSync(join(runsDir, f), 'utf8'))).filter((x) => x.experiment);
        counts = {};
        for (const rec of records) for (const s of rec.stages) if (s.outcome === 'ran') counts[s.id] = (counts[s.id] ?? 0) + 1;
      } else {
        let total = 0;
        combos.forEach((c, i) => (total += timeIt(['exp', 'run', '-j', '2', '-n', `q${r}-${i}`, ...c.flatMap((s) => ['--set', s])])));
        seqMs.push(total);
      }
    }
  }
  const sweep = median(sweepMs);
  const seq = median(seqMs);
  lines.push(
    '## 4-experiment sweep of the bundled iris pipeline at -j 2 (target: ≤ 0.6× four sequential exp runs)',
    '',
    '| case | median s | ratio |',
    '| --- | ---: | ---: |',
    `| one \`exp run\` of the 2×2 sweep | ${(sweep / 1000).toFixed(2)} | ${(sweep / seq).toFixed(2)} |`,
    `| four sequential \`exp run\`s | ${(seq / 1000).toFixed(2)} | 1.00 |`,
    '',
    `Stages executed in the sweep (from the run records): ${Object.entries(counts).sort().map(([id, n]) => `${id} ×${n}`).join(', ')}.`,
  );
  rows.push({ bench: 'sweep', sweep_ms: Math.round(sweep), sequential_ms: Math.round(seq), ratio: Number((sweep / seq).toFixed(2)), executed: counts, rounds: sweepRounds });
} finally {
  rmSync(clone, { recursive: true, force: true });
}

const table = lines.join('\n');
writeResults('experiments', rows, table);
console.log(table);
