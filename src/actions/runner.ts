// The process a built-in action's stage runs in. The engine starts it like
// any command (so it has its own process group, log, timeout and Ctrl-C
// handling): `node action-runner.js SPEC`, in the stage's working directory,
// where SPEC is a JSON file {action, with, stage, context, backend}. An
// ActionError prints one line and exits 1; anything else is a bug and prints
// its stack.
import { readFileSync } from 'node:fs';
import { ActionError } from './errors.js';
import type { BackendName } from '../ml/backend.js';
import type { ActionContext } from './launch.js';

interface Spec {
  readonly action: string;
  readonly with: Record<string, unknown>;
  readonly stage: string;
  readonly context: ActionContext;
  readonly backend?: BackendName;
}

type Log = (line: string) => void;
/** Each action's implementation, loaded only when its stage runs (ML ones load TensorFlow.js). */
const IMPLEMENTATIONS: Record<string, (w: never, spec: Spec, log: Log) => Promise<void> | void> = {
  split: async (w, _s, log) => (await import('./split.js')).split(w, log),
  train: async (w, s, log) => (await import('./train.js')).train(w, s.backend ?? 'cpu', log),
  tune: async (w, s, log) => (await import('./tune.js')).tune(w, s.backend ?? 'cpu', log),
  evaluate: async (w, s, log) => (await import('./evaluate.js')).evaluate(w, s.backend ?? 'cpu', log, s.context),
  register: async (w, s, log) => (await import('./register.js')).register(w, s.context, log),
  package: async (w, _s, log) => (await import('./package.js')).packageModel(w, log),
  monitor: async (w, s, log) => (await import('./monitor.js')).monitor(w, s.backend ?? 'cpu', log),
  report: async (w, s, log) => (await import('./report.js')).report(w, s.context, log),
};

async function run(spec: Spec, log: Log): Promise<void> {
  const implementation = IMPLEMENTATIONS[spec.action];
  if (!implementation) throw new ActionError(`this mlpipe has no action "${spec.action}"`);
  await implementation(spec.with as never, spec, log);
}

try {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
  await run(spec, (line) => process.stdout.write(`${line}\n`));
} catch (e) {
  if (e instanceof ActionError) process.stderr.write(`error: ${e.message}\n`);
  else process.stderr.write(`mlpipe action runner: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
