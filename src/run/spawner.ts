// Starting stage commands cheaply. Forking the mlpipe process itself (Node,
// 60–200 MB) costs 3–6 ms per command in libuv and execa; a small long-lived
// POSIX shell forks in a fraction of that. So on systems with `setsid` the
// commands are started by one helper shell, fed a line per command on stdin:
// it puts each command in a session (process group) of its own with its
// output appended to the stage's log file, and answers "pid ID PID" and
// "done ID STATUS". Node reads the log file for the live output. Elsewhere (or
// with MLPIPE_SPAWN=node) commands are started from Node with execa.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, createWriteStream } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { LogFollower } from './log-follower.js';

/** How a started command ended: an exit code, or the signal that killed it. */
export interface CommandExit {
  readonly exitCode?: number;
  readonly signal?: string;
  /** Set when the runner itself failed (the helper died). */
  readonly error?: string;
}

export interface StartedCommand {
  /** The process group to signal; undefined until known. */
  pid(): number | undefined;
  readonly exit: Promise<CommandExit>;
}

export interface CommandSpec {
  readonly command: string;
  readonly cwd: string;
  /** Added to (and overriding) mlpipe's own environment. */
  readonly env: Readonly<Record<string, string>>;
  /** The command's stdout and stderr are appended here. */
  readonly logFile: string;
  /** Output as it arrives (also in the log file). */
  readonly onText: (text: string) => void;
}

export interface Spawner {
  start(spec: CommandSpec): StartedCommand;
}

const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

/** Runs commands from Node with execa (portable; slower per command). */
class NodeSpawner implements Spawner {
  start(spec: CommandSpec): StartedCommand {
    let pid: number | undefined;
    const exit = (async (): Promise<CommandExit> => {
      // execa is loaded with the first command: a no-op run never pays for it.
      const { execa } = await import('execa');
      const log = createWriteStream(spec.logFile, { flags: 'a' });
      const child = execa('sh', ['-c', spec.command], {
        cwd: spec.cwd,
        env: spec.env,
        extendEnv: true,
        detached: true, // a process group of its own
        stdin: 'ignore',
        all: true,
        buffer: false,
        reject: false,
      });
      pid = child.pid;
      child.all?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        spec.onText(chunk.toString('utf8'));
      });
      const result = await child;
      await new Promise<void>((resolve) => log.end(resolve));
      return { ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}), ...(result.signal ? { signal: result.signal } : {}) };
    })();
    return { pid: () => pid, exit };
  }
}

// The helper. `job ID DIR LOG CMD [NAME VALUE]...` starts CMD in the
// background: a subshell exports the variables, enters DIR, starts the command
// under setsid (its own session and process group, outside mlpipe's terminal
// signals), reports its pid, waits and reports its status. Every report is
// one short write to a pipe, so concurrent reports never interleave.
const HELPER_SCRIPT = `
nl='
'
job() {
  _id=$1 _dir=$2 _log=$3 _cmd=$4
  shift 4
  (
    while [ $# -gt 0 ]; do export "$1=$2"; shift 2; done
    cd "$_dir" 2>/dev/null || { echo "done $_id cd"; exit 0; }
    "$MLPIPE_SETSID" "$MLPIPE_SH" -c "$_cmd" </dev/null >>"$_log" 2>&1 &
    echo "pid $_id $!"
    wait $!
    echo "done $_id $?"
  ) &
}
while IFS= read -r _line; do eval "$_line"; done
`;

/** A shell word for the helper: single-quoted, newlines spliced in from $nl (read -r takes one line). */
function shellWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`).replace(/\n/g, `'"$nl"'`)}'`;
}

interface HelperJob {
  pid?: number;
  readonly spec: CommandSpec;
  readonly output: LogFollower;
  resolve(exit: CommandExit): void;
}

class HelperSpawner implements Spawner {
  private helper: ChildProcess | undefined;
  private readonly jobs = new Map<number, HelperJob>();
  private nextId = 1;
  private pending = '';

  constructor(
    private readonly setsid: string,
    /** The shell, by absolute path: found once, not looked up along PATH for every command. */
    private readonly sh: string,
  ) {}

  private ensureHelper(): ChildProcess {
    if (this.helper) return this.helper;
    const helper = spawn(this.sh, ['-c', HELPER_SCRIPT], {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: true, // Ctrl-C reaches mlpipe, which stops the stages itself
      env: { ...process.env, MLPIPE_SETSID: this.setsid, MLPIPE_SH: this.sh },
    });
    helper.stdout!.setEncoding('utf8');
    helper.stdout!.on('data', (text: string) => this.onReport(text));
    helper.on('exit', () => this.onHelperExit());
    helper.stdin!.on('error', () => this.onHelperExit());
    this.helper = helper;
    return helper;
  }

  start(spec: CommandSpec): StartedCommand {
    const strings = [spec.command, spec.cwd, spec.logFile, ...Object.entries(spec.env).flat()];
    if (strings.some((s) => s.includes('\0'))) return new NodeSpawner().start(spec);
    const helper = this.ensureHelper();
    const id = this.nextId++;
    let resolve!: (exit: CommandExit) => void;
    const exit = new Promise<CommandExit>((r) => (resolve = r));
    const job: HelperJob = { spec, output: new LogFollower(spec.logFile, spec.onText), resolve };
    this.jobs.set(id, job);
    this.keepAlive();
    const vars = Object.entries(spec.env).flatMap(([k, v]) => [shellWord(k), shellWord(v)]);
    helper.stdin!.write(`job ${id} ${[spec.cwd, spec.logFile, spec.command].map(shellWord).join(' ')} ${vars.join(' ')}\n`);
    return { pid: () => job.pid, exit };
  }

  /** While commands run the helper's pipe keeps the process alive; idle, it does not. */
  private keepAlive(): void {
    const out = this.helper?.stdout as (NodeJS.ReadableStream & { ref?(): void; unref?(): void }) | undefined;
    if (this.jobs.size > 0) out?.ref?.();
    else out?.unref?.();
    if (this.jobs.size > 0) this.helper?.ref();
    else this.helper?.unref();
  }

  private onReport(text: string): void {
    this.pending += text;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const [kind, idText, value] = this.pending.slice(0, nl).split(' ');
      this.pending = this.pending.slice(nl + 1);
      const id = Number(idText);
      const job = this.jobs.get(id);
      if (!job) continue;
      if (kind === 'pid') job.pid = Number(value);
      else if (kind === 'done') {
        this.settle(id, job, value === 'cd' ? { error: `cannot enter the working directory ${job.spec.cwd}` } : exitOfStatus(Number(value)));
      }
    }
  }

  private settle(id: number, job: HelperJob, exit: CommandExit): void {
    job.output.close();
    this.jobs.delete(id);
    this.keepAlive();
    job.resolve(exit);
  }

  private onHelperExit(): void {
    const helper = this.helper;
    if (!helper) return;
    this.helper = undefined;
    this.pending = '';
    helper.stdout?.removeAllListeners('data');
    for (const [id, job] of [...this.jobs]) this.settle(id, job, { error: 'the command runner (sh) exited unexpectedly' });
  }
}

/** A shell's wait status: 128+N is taken as signal N (as sh reports it). */
function exitOfStatus(status: number): CommandExit {
  if (status > 128 && SIGNAL_NAMES.has(status - 128)) return { exitCode: status, signal: SIGNAL_NAMES.get(status - 128)! };
  return { exitCode: status };
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

let chosen: Spawner | undefined;

/** The spawner for this process: the helper shell where `setsid` exists, else Node. */
export function spawner(): Spawner {
  if (chosen) return chosen;
  const setsid = process.platform !== 'win32' && process.env.MLPIPE_SPAWN !== 'node' ? findOnPath('setsid') : undefined;
  const sh = setsid ? findOnPath('sh') : undefined;
  chosen = setsid && sh ? new HelperSpawner(setsid, sh) : new NodeSpawner();
  return chosen;
}
