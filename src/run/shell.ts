// Runs a stage's shell commands (`sh -c`, one after another, stopping at the
// first failure), each in its own process group so a timeout or Ctrl-C kills
// everything it started. Output is appended to the stage's log file (a retry
// keeps the earlier attempt's output above its own) and, line by
// line, to the reporter; the last lines are kept for the failure message.
import { spawner } from './spawner.js';

export interface ShellOptions {
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly timeoutMs?: number;
  readonly logFile: string;
  readonly onLine: (line: string) => void;
  readonly signal: AbortSignal;
}

export interface ShellResult {
  readonly ok: boolean;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  /** The failing command, for the message. */
  readonly command?: string;
  /** Why the command could not be run at all. */
  readonly error?: string;
  readonly tail: readonly string[];
}

const TAIL_LINES = 20;
const KILL_GRACE_MS = 2000;

/** Signals a command's process group; while it runs, the process itself if its group does not exist yet. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals, running: boolean): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    if (!running) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function runShell(commands: readonly string[], options: ShellOptions): Promise<ShellResult> {
  const tail: string[] = [];
  let pending = '';
  const push = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    options.onLine(line);
  };
  const onText = (text: string) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) push(line.replace(/\r$/, ''));
  };
  for (const command of commands) {
    if (options.signal.aborted) return { ok: false, timedOut: false, interrupted: true, command, tail };
    const started = spawner().start({ command, cwd: options.cwd, env: options.env, logFile: options.logFile, onText });
    let timedOut = false;
    let interrupted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'abort') => {
      if (why === 'timeout') timedOut = true;
      else interrupted = true;
      killGroup(started.pid(), 'SIGTERM', true);
      // A command that ignores SIGTERM is killed after the grace period; the
      // pending exit keeps mlpipe waiting for it (it never exits before).
      killTimer ??= setTimeout(() => killGroup(started.pid(), 'SIGKILL', true), KILL_GRACE_MS);
    };
    const timer = options.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), options.timeoutMs) : undefined;
    const onAbort = () => stop('abort');
    options.signal.addEventListener('abort', onAbort);
    const result = await started.exit;
    if (pending !== '') push(pending);
    pending = '';
    clearTimeout(timer);
    clearTimeout(killTimer); // its group is killed just below; a later timer could hit a reused pid
    options.signal.removeEventListener('abort', onAbort);
    // Anything the command left running in its group goes with it.
    killGroup(started.pid(), 'SIGKILL', false);
    if (timedOut || interrupted || result.error !== undefined || result.exitCode !== 0) {
      return {
        ok: false,
        ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
        ...(result.signal ? { signal: result.signal } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
        timedOut,
        interrupted,
        command,
        tail,
      };
    }
  }
  return { ok: true, timedOut: false, interrupted: false, tail };
}
