// Run history in .mlpipe/: a record per run (runs/<id>.json) and its stage
// logs (logs/<id>/). Only the newest runs are kept (MLPIPE_KEEP_RUNS, default
// 100), so watch mode, which runs on every save, does not fill the disk. Run
// ids begin with their UTC time, so their order is their age.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_KEEP_RUNS = 100;

export function pruneHistory(stateDir: string, keep = Number(process.env.MLPIPE_KEEP_RUNS ?? DEFAULT_KEEP_RUNS)): void {
  if (!Number.isInteger(keep) || keep < 1) return;
  const runs = join(stateDir, 'runs');
  const logs = join(stateDir, 'logs');
  const ids = new Set<string>();
  if (existsSync(runs)) for (const f of readdirSync(runs)) if (f.endsWith('.json')) ids.add(f.slice(0, -5));
  if (existsSync(logs)) for (const d of readdirSync(logs)) ids.add(d);
  const old = [...ids].sort().slice(0, Math.max(0, ids.size - keep));
  for (const id of old) {
    rmSync(join(runs, `${id}.json`), { force: true });
    rmSync(join(logs, id), { recursive: true, force: true });
  }
}
