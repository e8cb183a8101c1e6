// `npm run bench`: runs every benchmark in bench/ (never part of `npm test`).
// Results go to bench/results/ as JSON lines and Markdown tables.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './lib.mjs';

const benches = ['startup.mjs', 'hash.mjs', 'engine.mjs', 'train.mjs', 'serve.mjs', 'experiments.mjs', 'loop.mjs', 'compare.mjs'];
let failed = false;
for (const b of benches) {
  console.log(`\n== ${b}`);
  const r = spawnSync(process.execPath, [join(REPO, 'bench', b)], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
