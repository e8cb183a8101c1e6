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
export function killGroup(pid: number | undefined, signal: NodeJS.Signals, running: boolean): void {
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

/** A command's output as lines (to `onLine`), keeping the last ones for a failure message. */
export class OutputLines {
  readonly tail: string[] = [];
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  readonly onText = (text: string): void => {
    this.pending += text;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.push(line.replace(/\r$/, ''));
  };

  /** The command ended: an unfinished last line is a line too. */
  flush(): void {
    if (this.pending !== '') this.push(this.pending);
    this.pending = '';
  }

  private push(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.onLine(line);
  }
}

/** Signals the group now, and kills it if it is still there after the grace period. */
export function stopGroup(pid: () => number | undefined): NodeJS.Timeout {
  killGroup(pid(), 'SIGTERM', true);
  // A command that ignores SIGTERM is killed after the grace period; the
  // pending exit keeps mlpipe waiting for it (it never exits before).
  return setTimeout(() => killGroup(pid(), 'SIGKILL', true), KILL_GRACE_MS);
}

export async function runShell(commands: readonly string[], options: ShellOptions): Promise<ShellResult> {
  const output = new OutputLines(options.onLine);
  const { tail, onText } = output;
  for (const command of commands) {
    if (options.signal.aborted) return { ok: false, timedOut: false, interrupted: true, command, tail };
    const started = spawner().start({ command, cwd: options.cwd, env: options.env, logFile: options.logFile, onText });
    let timedOut = false;
    let interrupted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'abort') => {
      if (why === 'timeout') timedOut = true;
      else interrupted = true;
      killTimer ??= stopGroup(() => started.pid());
    };
    const timer = options.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), options.timeoutMs) : undefined;
    const onAbort = () => stop('abort');
    options.signal.addEventListener('abort', onAbort);
    const result = await started.exit;
    output.flush();
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
