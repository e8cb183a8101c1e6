// How the engine runs a built-in action: it writes the stage's spec (action,
// with, stage id) beside the stage's log and runs the action runner with the
// same Node that runs mlpipe, as an ordinary command. ML actions get the
// chosen TensorFlow.js backend in their spec.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stage } from '../pipeline/model.js';
import { mlBackend } from '../ml/backend.js';
import { actionFor } from './registry.js';

let runner: string | undefined;

/** dist/bundle/action-runner.js of this installation (this module may sit in a chunk below it). */
function runnerPath(): string {
  if (runner) return runner;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'bundle', 'action-runner.js');
    if (existsSync(candidate)) return (runner = candidate);
    if (dirname(dir) === dir) throw new Error('cannot find dist/bundle/action-runner.js: is mlpipe built?');
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell command that runs the stage's action; its spec is written to `specFile`. */
export function actionCommand(stage: Stage, specFile: string): string {
  const action = actionFor(stage.uses!.value);
  const backend = action?.ml ? mlBackend() : undefined;
  writeFileSync(specFile, `${JSON.stringify({ action: action?.name ?? stage.uses!.value, with: stage.with ?? {}, stage: stage.id, ...(backend ? { backend } : {}) })}\n`);
  return `exec ${quote(process.execPath)} ${quote(runnerPath())} ${quote(specFile)}`;
}
