// Runs a stage's shell commands with execa: `sh -c`, in its own process group
// (so a timeout or Ctrl-C kills everything it started), output streamed line by
// line to its log file and to the reporter, and the last lines kept for the
// failure message.
import { createWriteStream } from 'node:fs';

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
  readonly tail: readonly string[];
}

const TAIL_LINES = 20;
const KILL_GRACE_MS = 2000;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function runShell(commands: readonly string[], options: ShellOptions): Promise<ShellResult> {
  const log = createWriteStream(options.logFile);
  const tail: string[] = [];
  const push = (line: string) => {
    log.write(`${line}\n`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    options.onLine(line);
  };
  // execa is loaded with the first stage that runs: a no-op run never pays for it.
  const { execa } = await import('execa');
  try {
    for (const command of commands) {
      if (options.signal.aborted) return { ok: false, timedOut: false, interrupted: true, command, tail };
      const child = execa('sh', ['-c', command], {
        cwd: options.cwd,
        env: options.env,
        extendEnv: true,
        detached: true, // a process group of its own
        stdin: 'ignore',
        all: true,
        buffer: false,
        reject: false,
      });
      let timedOut = false;
      let interrupted = false;
      const stop = (why: 'timeout' | 'abort') => {
        if (why === 'timeout') timedOut = true;
        else interrupted = true;
        killGroup(child.pid, 'SIGTERM');
        setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
      };
      const timer = options.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), options.timeoutMs) : undefined;
      const onAbort = () => stop('abort');
      options.signal.addEventListener('abort', onAbort);
      let pending = '';
      child.all?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) push(line.replace(/\r$/, ''));
      });
      const result = await child;
      if (pending !== '') push(pending);
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      // Anything the command left running in its group goes with it.
      killGroup(child.pid, 'SIGKILL');
      if (timedOut || interrupted || result.exitCode !== 0) {
        return {
          ok: false,
          ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
          ...(result.signal ? { signal: result.signal } : {}),
          timedOut,
          interrupted,
          command,
          tail,
        };
      }
    }
    return { ok: true, timedOut: false, interrupted: false, tail };
  } finally {
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
