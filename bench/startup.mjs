// Startup benchmark: `mlpipe --version`, `mlpipe validate` and `mlpipe dag` on
// the bundled pipelines, against bare `node -e 0` in the same rounds.
// Target (issue 2): --version within 1.5x of bare node.
import { join } from 'node:path';
import { REPO, median, timeInterleaved, writeResults } from './lib.mjs';

const bin = join(REPO, 'bin', 'mlpipe.js');
const node = process.execPath;
const commands = [
  { name: 'node -e 0', argv: [node, '-e', '0'] },
  { name: 'mlpipe --version', argv: [node, bin, '--version'] },
  { name: 'mlpipe --help', argv: [node, bin, '--help'] },
  { name: 'mlpipe validate', argv: [node, bin, 'validate'] },
  { name: 'mlpipe dag', argv: [node, bin, 'dag'] },
];

const rounds = Number(process.env.BENCH_ROUNDS ?? 30);
const samples = timeInterleaved(commands, { rounds });
const base = median(samples['node -e 0']);
const rows = commands.map((c) => {
  const m = median(samples[c.name]);
  return { bench: 'startup', command: c.name, median_ms: Number(m.toFixed(1)), ratio_to_node: Number((m / base).toFixed(2)), rounds };
});
const table = [
  `# Startup (median of ${rounds} interleaved rounds, ${new Date().toISOString().slice(0, 10)}, Node ${process.version})`,
  '',
  '| command | median ms | × node -e 0 |',
  '| --- | ---: | ---: |',
  ...rows.map((r) => `| \`${r.command}\` | ${r.median_ms} | ${r.ratio_to_node} |`),
].join('\n');
writeResults('startup', rows, table);
console.log(table);
const version = rows.find((r) => r.command === 'mlpipe --version');
if (version.ratio_to_node > 1.5) {
  console.error(`\n--version is ${version.ratio_to_node}x bare node; the target is 1.5x`);
  process.exitCode = 1;
}
