// The process built-in actions run in, in one of two modes:
//   - warm (`node action-runner.js --serve`, started by the engine with an IPC
//     channel): runs one job at a time and stays up between them, so
//     TensorFlow.js and the action modules load once per run, not per stage.
//     A job is {id, spec, cwd, env, log}: the runner enters cwd, sets env,
//     appends the action's output (and anything written to stdout/stderr) to
//     the log file, and answers {id, exitCode} once every byte is written.
//     Between jobs it restores the environment and frees TensorFlow.js
//     tensors and variables. It exits when the engine disconnects (mlpipe
//     ended or was killed); a timeout or Ctrl-C kills it (the engine starts
//     a fresh one for the next job).
//   - one-shot (`node action-runner.js SPEC`, MLPIPE_ACTION_RUNNER=process):
//     SPEC is a JSON file; output goes to stdout and stderr.
// In both, an ActionError prints one line and exits 1; anything else is a bug
// and prints its stack.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { ActionError } from './errors.js';
import type { ActionRequest } from './launch.js';

type Log = (line: string) => void;
/** Each action's implementation, loaded only when its stage runs (ML ones load TensorFlow.js). */
const IMPLEMENTATIONS: Record<string, (w: never, spec: ActionRequest, log: Log) => Promise<void> | void> = {
  split: async (w, _s, log) => (await import('./split.js')).split(w, log),
  train: async (w, s, log) => (await import('./train.js')).train(w, s.backend ?? 'cpu', log),
  tune: async (w, s, log) => (await import('./tune.js')).tune(w, s.backend ?? 'cpu', log, s.threads ?? 1),
  evaluate: async (w, s, log) => (await import('./evaluate.js')).evaluate(w, s.backend ?? 'cpu', log, s.context),
  register: async (w, s, log) => (await import('./register.js')).register(w, s.context, log),
  package: async (w, _s, log) => (await import('./package.js')).packageModel(w, log),
  monitor: async (w, s, log) => (await import('./monitor.js')).monitor(w, s.backend ?? 'cpu', log),
  report: async (w, s, log) => (await import('./report.js')).report(w, s.context, log),
};

/** Runs one action; its exit code (1 after an error, which is written to `err`). */
async function runSpec(spec: ActionRequest, log: Log, err: (text: string) => void): Promise<number> {
  try {
    const implementation = IMPLEMENTATIONS[spec.action];
    if (!implementation) throw new ActionError(`this mlpipe has no action "${spec.action}"`);
    await implementation(spec.with as never, spec, log);
    return 0;
  } catch (e) {
    if (e instanceof ActionError) err(`error: ${e.message}\n`);
    else err(`mlpipe action runner: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

export interface RunnerJob {
  readonly id: number;
  readonly spec: ActionRequest;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly log: string;
}

export type RunnerReply = { readonly id: number; readonly exitCode: number } | { readonly id: number; readonly error: string };

type Write = typeof process.stdout.write;

/** Runs a job with the process's cwd, environment and output pointed at it, then puts them back. */
async function serveJob(job: RunnerJob): Promise<RunnerReply> {
  try {
    process.chdir(job.cwd);
  } catch {
    return { id: job.id, error: `cannot enter the working directory ${job.cwd}` };
  }
  const fd = openSync(job.log, 'a');
  const write = (text: string | Uint8Array) => {
    if (typeof text === 'string') writeSync(fd, text);
    else writeSync(fd, text);
  };
  const savedEnv = new Map(Object.keys(job.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, job.env);
  const savedOut = process.stdout.write;
  const savedErr = process.stderr.write;
  const redirect = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    write(chunk);
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as Write;
  process.stdout.write = redirect;
  process.stderr.write = redirect;
  current = write;
  try {
    const { loadedTf } = await import('../ml/tf.js');
    const scoped = await loadedTf();
    for (const tf of scoped) tf.core.engine().startScope();
    const exitCode = await runSpec(job.spec, (line) => write(`${line}\n`), write);
    for (const tf of await loadedTf()) {
      // Whatever the action left behind (its models' weights, stray tensors) goes with the job.
      if (scoped.includes(tf)) tf.core.engine().endScope();
      tf.core.disposeVariables();
    }
    return { id: job.id, exitCode };
  } finally {
    current = undefined;
    process.stdout.write = savedOut;
    process.stderr.write = savedErr;
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    process.exitCode = undefined;
    closeSync(fd);
  }
}

/** Where a crash's last words go: the running job's log. */
let current: ((text: string) => void) | undefined;

function serve(): void {
  const send = (reply: RunnerReply) => process.send!(reply);
  let queue = Promise.resolve();
  process.on('message', (job: RunnerJob) => {
    queue = queue.then(() =>
      serveJob(job).then(
        (reply) => void send(reply),
        (e: unknown) => void send({ id: job.id, error: `the action runner failed: ${(e as Error).message}` }),
      ),
    );
  });
  // mlpipe ended (or was killed): nothing is left to run for.
  process.on('disconnect', () => process.exit(0));
  const die = (e: unknown) => {
    current?.(`mlpipe action runner: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(70);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
}

if (process.argv[2] === '--serve' && process.send) serve();
else {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ActionRequest;
  process.exitCode = await runSpec(spec, (line) => process.stdout.write(`${line}\n`), (text) => process.stderr.write(text));
}
