// Runs built-in actions' stages in warm runner processes (dist/bundle/
// action-runner.js --serve), so TensorFlow.js and the action modules load once
// per mlpipe process instead of once per stage. A runner runs one job at a
// time; there are as many runners as action stages running at once, kept idle
// between jobs for the rest of the run (or watch session). Each runner is a
// process group of its own, like a stage's command: a timeout or Ctrl-C kills
// it — and with it whatever the job had in memory — and the next job gets a
// fresh runner; so does a job after a runner crashed. The job's output goes to
// the stage's log file, followed for live output as for shell commands.
// Idle runners do not keep mlpipe alive; they exit with it (or, if mlpipe is
// killed, when their IPC channel closes).
import { fork, type ChildProcess } from 'node:child_process';
import type { ActionRequest } from '../actions/launch.js';
import type { RunnerJob, RunnerReply } from '../actions/runner.js';
import { bundledScript } from '../util/bundled.js';
import { LogFollower } from './log-follower.js';
import { killGroup, OutputLines, stopGroup, type ShellOptions, type ShellResult } from './shell.js';

interface Runner {
  readonly child: ChildProcess;
  /** Resolves when the runner process has exited. */
  readonly exited: Promise<string>;
}

const idle: Runner[] = [];
const live = new Set<Runner>();
let nextId = 1;
let exitHookInstalled = false;

function startRunner(): Runner {
  const child = fork(bundledScript('action-runner'), ['--serve'], {
    // Jobs write to their logs; anything a runner prints outside a job goes to mlpipe's stderr.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    detached: true, // its own process group, outside the terminal's Ctrl-C: mlpipe stops it
    execArgv: [],
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
    child.once('error', (e) => resolve(e.message));
  });
  const runner = { child, exited };
  live.add(runner);
  void exited.then(() => {
    live.delete(runner);
    const i = idle.indexOf(runner);
    if (i >= 0) idle.splice(i, 1);
  });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const r of live) killGroup(r.child.pid, 'SIGKILL', true);
    });
  }
  return runner;
}

/** While a job runs the runner keeps mlpipe alive; idle, it does not. */
function hold(runner: Runner, busy: boolean): void {
  const channel = runner.child.channel as { ref?(): void; unref?(): void } | null | undefined;
  if (busy) {
    runner.child.ref();
    channel?.ref?.();
  } else {
    runner.child.unref();
    channel?.unref?.();
  }
}

/** Runs an action's stage in a warm runner, with the same result shape as a shell command. */
export async function runAction(request: ActionRequest, options: ShellOptions): Promise<ShellResult> {
  const output = new OutputLines(options.onLine);
  const { tail } = output;
  if (options.signal.aborted) return { ok: false, timedOut: false, interrupted: true, tail };
  const runner = idle.pop() ?? startRunner();
  hold(runner, true);
  const id = nextId++;
  const follower = new LogFollower(options.logFile, output.onText);
  let timedOut = false;
  let interrupted = false;
  let killTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = (why: 'timeout' | 'abort') => {
    if (why === 'timeout') timedOut = true;
    else interrupted = true;
    stopped = true;
    killTimer ??= stopGroup(() => runner.child.pid);
  };
  const timer = options.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), options.timeoutMs) : undefined;
  const onAbort = () => stop('abort');
  options.signal.addEventListener('abort', onAbort);
  const reply = new Promise<RunnerReply>((resolve) => {
    const onMessage = (m: RunnerReply) => {
      if (m.id !== id) return;
      runner.child.off('message', onMessage);
      resolve(m);
    };
    runner.child.on('message', onMessage);
  });
  const job: RunnerJob = { id, spec: request, cwd: options.cwd, env: options.env, log: options.logFile };
  runner.child.send(job, (e) => {
    if (e) killGroup(runner.child.pid, 'SIGKILL', true);
  });
  const outcome = await Promise.race([reply, runner.exited]);
  clearTimeout(timer);
  options.signal.removeEventListener('abort', onAbort);
  if (typeof outcome === 'string' || stopped) {
    // Stopped, or it died: a runner that did not finish its job is not reused.
    killGroup(runner.child.pid, 'SIGKILL', false);
    await runner.exited;
    clearTimeout(killTimer);
  } else {
    hold(runner, false);
    idle.push(runner);
  }
  follower.close();
  output.flush();
  if (timedOut || interrupted) return { ok: false, timedOut, interrupted, tail };
  if (typeof outcome === 'string') return { ok: false, timedOut, interrupted, error: `the action runner stopped (${outcome})`, tail };
  if ('error' in outcome) return { ok: false, timedOut, interrupted, error: outcome.error, tail };
  return outcome.exitCode === 0 ? { ok: true, timedOut, interrupted, tail } : { ok: false, exitCode: outcome.exitCode, timedOut, interrupted, tail };
}
