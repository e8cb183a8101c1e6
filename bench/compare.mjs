// Side-by-side benchmark: the same synthetic pipelines (bench/shapes.mjs) run by
// mlpipe, GNU make, Snakemake, Wireit and Turborepo, all at 2 jobs, in the same
// run. Cases: cold run, no-op rerun, one leaf input changed (the number of
// stages executed is checked, not only the time), and status/dry-run with
// nothing changed. Each cell is a median of several runs, also given as a ratio
// to make's time in the same run, with peak RSS from GNU time.
// Usage: node bench/compare.mjs [--shapes chain,fan,lattice] [--sizes 100,1000] [--tools ...] [--rounds N]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, RESULTS, median } from './lib.mjs';

const STAMP = new Date().toISOString();
import { expectedRerun, leafToChange, shape, writers } from './shapes.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : args[i + 1];
};
const SHAPES = opt('shapes', 'chain,fan,lattice').split(',');
const SIZES = opt('sizes', '100,1000').split(',').map(Number);
const TOOLS = opt('tools', 'mlpipe,make,snakemake,wireit,turbo').split(',');
const ROUNDS = Number(opt('rounds', '3'));
const TMP = join(REPO, 'bench', 'tmp', 'compare');
const bin = (name) => join(REPO, 'node_modules', '.bin', name);
const quietEnv = { TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', TURBO_NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1', CI: '1' };

/** How each tool runs (`run`) and answers "is anything stale?" (`status`); null when it has no such command. */
const tools = {
  mlpipe: {
    run: () => [process.execPath, join(REPO, 'bin', 'mlpipe.js'), 'run', '-j', '2', '--reporter', 'plain'],
    status: () => [process.execPath, join(REPO, 'bin', 'mlpipe.js'), 'status'],
  },
  make: { run: () => ['make', '-j2', '-s', 'all'], status: () => ['make', '-q', 'all'], statusOk: [0, 1] },
  snakemake: {
    run: () => ['snakemake', '--cores', '2', '--quiet', 'all'],
    status: () => ['snakemake', '--cores', '2', '-n', '--quiet', 'all'],
  },
  wireit: {
    run: (dir) => ({ argv: [process.execPath, join(REPO, 'node_modules', 'wireit', 'bin', 'wireit.js')], env: { npm_lifecycle_event: 'all', npm_package_json: join(dir, 'package.json'), WIREIT_PARALLEL: '2', WIREIT_LOGGER: 'quiet' } }),
    status: null,
  },
  turbo: {
    run: () => [bin('turbo'), 'run', 'all', '--concurrency=2', '--output-logs=none', '--log-prefix=none'],
    status: () => [bin('turbo'), 'run', 'all', '--concurrency=2', '--dry-run=json'],
  },
};

function available(tool) {
  const probe = { mlpipe: [process.execPath, '-e', '0'], make: ['make', '--version'], snakemake: ['snakemake', '--version'], wireit: [process.execPath, '-e', `require.resolve('wireit/package.json')`], turbo: [bin('turbo'), '--version'] }[tool];
  const r = spawnSync(probe[0], probe.slice(1), { cwd: REPO, encoding: 'utf8' });
  return r.status === 0 ? null : (r.error?.message ?? r.stderr.trim().split('\n')[0] ?? 'not available');
}

function exec(tool, kind, dir) {
  const spec = tools[tool][kind](dir);
  const { argv, env } = Array.isArray(spec) ? { argv: spec, env: {} } : spec;
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { cwd: dir, env: { ...process.env, ...quietEnv, ...env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const rssKb = Number(r.stderr.trim().split('\n').filter((l) => /^\d+$/.test(l.trim())).pop());
  const okCodes = kind === 'status' ? (tools[tool].statusOk ?? [0]) : [0];
  if (!okCodes.includes(r.status)) throw new Error(`${tool} ${kind} in ${dir} exited ${r.status}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return { ms, rssMb: rssKb / 1024 };
}

function setup(tool, dir, ups) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writers[tool](dir, ups);
  if (tool === 'turbo') spawnSync('git', ['init', '-q'], { cwd: dir });
}

function executed(dir) {
  const log = join(dir, 'runs.log');
  const n = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
  rmSync(log, { force: true });
  return n;
}

const rows = [];
const missing = {};
for (const tool of TOOLS) {
  const why = available(tool);
  if (why) missing[tool] = why;
}
for (const kind of SHAPES) {
  for (const n of SIZES) {
    const ups = shape(kind, n);
    const leaf = leafToChange(kind, n);
    const expect = expectedRerun(ups, leaf);
    for (const tool of TOOLS) {
      if (missing[tool]) continue;
      const dir = join(TMP, `${kind}-${n}`, tool);
      const cells = { cold: [], noop: [], leaf: [], status: [] };
      const rss = { cold: [], noop: [], leaf: [], status: [] };
      const counts = { cold: [], noop: [], leaf: [] };
      try {
      for (let r = 0; r < ROUNDS; r++) {
        setup(tool, dir, ups);
        const cold = exec(tool, 'run', dir);
        cells.cold.push(cold.ms);
        rss.cold.push(cold.rssMb);
        counts.cold.push(executed(dir));
        const noop = exec(tool, 'run', dir);
        cells.noop.push(noop.ms);
        rss.noop.push(noop.rssMb);
        counts.noop.push(executed(dir));
        if (tools[tool].status) {
          const st = exec(tool, 'status', dir);
          cells.status.push(st.ms);
          rss.status.push(st.rssMb);
        }
        writeFileSync(join(dir, 'src', `in${leaf}.txt`), `changed ${r}\n`);
        const lf = exec(tool, 'run', dir);
        cells.leaf.push(lf.ms);
        rss.leaf.push(lf.rssMb);
        counts.leaf.push(executed(dir));
      }
      } catch (e) {
        report();
        // A tool that cannot handle the shape is reported, not skipped silently.
        const lines = String(e.message).split('\n').map((l) => l.trim()).filter(Boolean);
        const reason = lines.find((l) => /error/i.test(l) && !/exited/.test(l)) ?? (lines.length > 1 ? `${lines[0]} ${lines.at(-1)}` : lines[0]);
        rows.push({ bench: 'compare', shape: kind, n, tool, case: 'failed', reason: reason.trim().slice(0, 160) });
        process.stderr.write(`${kind}-${n} ${tool} FAILED: ${reason}\n`);
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      for (const c of ['cold', 'noop', 'leaf', 'status']) {
        if (cells[c].length === 0) continue;
        const expected = c === 'cold' ? n : c === 'noop' ? 0 : c === 'leaf' ? expect : undefined;
        const ran = counts[c] ? median(counts[c]) : undefined;
        rows.push({ bench: 'compare', shape: kind, n, tool, case: c, median_ms: Number(median(cells[c]).toFixed(1)), peak_rss_mb: Number(Math.max(...rss[c]).toFixed(1)), executed: ran, expected, rounds: ROUNDS });
      }
      rmSync(dir, { recursive: true, force: true });
      process.stderr.write(`${kind}-${n} ${tool} done\n`);
      report(); // after every cell, so a crash or a time limit loses only the cell in progress
    }
  }
}

function report() {
// Ratios to make in the same run.
for (const r of rows) {
  const base = rows.find((m) => m.tool === 'make' && m.shape === r.shape && m.n === r.n && m.case === r.case);
  r.ratio_to_make = base ? Number((r.median_ms / base.median_ms).toFixed(2)) : null;
}

const lines = [`# Side-by-side: mlpipe, make, Snakemake, Wireit, Turborepo at 2 jobs (${new Date().toISOString().slice(0, 10)}, median of ${ROUNDS})`, ''];
for (const [tool, why] of Object.entries(missing)) lines.push(`- **${tool} could not be run:** ${why}`);
lines.push('', 'Cells: median ms (× make) · stages executed where it applies (expected in brackets) · peak RSS MB.', '');
for (const kind of SHAPES) {
  for (const n of SIZES) {
    lines.push(`## ${kind}, ${n} stages`, '', '| tool | cold | no-op | one leaf changed | status / dry-run |', '| --- | --- | --- | --- | --- |');
    for (const tool of TOOLS) {
      const failed = rows.find((x) => x.tool === tool && x.shape === kind && x.n === n && x.case === 'failed');
      const cell = (c) => {
        if (failed) return `failed: ${failed.reason}`;
        const r = rows.find((x) => x.tool === tool && x.shape === kind && x.n === n && x.case === c);
        if (!r) return missing[tool] ? 'not installed' : 'n/a';
        const ran = r.executed !== undefined ? ` · ran ${r.executed}${r.executed !== r.expected ? ` [${r.expected}]` : ''}` : '';
        const rssText = Number.isFinite(r.peak_rss_mb) ? `${r.peak_rss_mb} MB` : 'RSS not read';
        return `${r.median_ms} ms (${r.ratio_to_make ?? '–'}×)${ran} · ${rssText}`;
      };
      lines.push(`| ${tool} | ${cell('cold')} | ${cell('noop')} | ${cell('leaf')} | ${cell('status')} |`);
    }
    lines.push('');
  }
}
writeFileSync(join(RESULTS, 'compare.md'), `${lines.join('\n')}\n`);
writeFileSync(join(RESULTS, 'compare.jsonl'), rows.map((r) => JSON.stringify({ at: STAMP, ...r })).join('\n') + '\n');
return lines.join('\n');
}

console.log(report());
