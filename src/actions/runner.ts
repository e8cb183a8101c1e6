// The process a built-in action's stage runs in. The engine starts it like
// any command (so it has its own process group, log, timeout and Ctrl-C
// handling): `node action-runner.js SPEC`, in the stage's working directory,
// where SPEC is a JSON file {action, with, stage, context, backend}. An ActionError prints one
// line and exits 1; anything else is a bug and prints its stack.
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

async function run(spec: Spec, log: (line: string) => void): Promise<void> {
  switch (spec.action) {
    case 'split': {
      const { split } = await import('./split.js');
      split(spec.with as never, log);
      return;
    }
    case 'train': {
      const { train } = await import('./train.js');
      await train(spec.with as never, spec.backend ?? 'cpu', log);
      return;
    }
    case 'tune': {
      const { tune } = await import('./tune.js');
      await tune(spec.with as never, spec.backend ?? 'cpu', log);
      return;
    }
    case 'evaluate': {
      const { evaluate } = await import('./evaluate.js');
      await evaluate(spec.with as never, spec.backend ?? 'cpu', log);
      return;
    }
    case 'register': {
      const { register } = await import('./register.js');
      await register(spec.with as never, spec.context, log);
      return;
    }
    case 'package': {
      const { packageModel } = await import('./package.js');
      packageModel(spec.with as never, log);
      return;
    }
    case 'monitor': {
      const { monitor } = await import('./monitor.js');
      await monitor(spec.with as never, spec.backend ?? 'cpu', log);
      return;
    }
    case 'report': {
      const { report } = await import('./report.js');
      await report(spec.with as never, spec.context, log);
      return;
    }
    default:
      throw new ActionError(`this mlpipe has no action "${spec.action}"`);
  }
}

try {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
  await run(spec, (line) => process.stdout.write(`${line}\n`));
} catch (e) {
  if (e instanceof ActionError) process.stderr.write(`error: ${e.message}\n`);
  else process.stderr.write(`mlpipe action runner: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
