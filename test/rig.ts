// Test rig for end-to-end tests: a temp project directory, files written into
// it, and the built CLI run in it as a user would run it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Ajv from 'ajv';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(REPO, 'bin', 'mlpipe.js');

/** The shipped Iris data, and a stage splitting it (stratified, seeded) into data/split/{train,validation,test}.csv, for lifecycle tests. */
export const IRIS_CSV = readFileSync(join(REPO, 'data', 'iris.csv'), 'utf8');
export const IRIS_SPLIT_STAGE = `  split:
    uses: mlpipe/split
    with: { data: data/iris.csv, out: data/split, label: species, seed: 7 }
    deps: [data/iris.csv]
    outs: [data/split/]
`;

export type RunEvent = Record<string, unknown> & { type: string };

/** schemas/events.schema.json, compiled once: every event the tests see must match it. */
const validateEvent = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(join(REPO, 'schemas', 'events.schema.json'), 'utf8')) as object);

/** Parses one JSON-lines event and checks it against the event schema. */
export function parseEvent(line: string): RunEvent {
  const e = JSON.parse(line) as RunEvent;
  if (!validateEvent(e)) throw new Error(`event does not match schemas/events.schema.json: ${line}\n${JSON.stringify(validateEvent.errors, null, 2)}`);
  return e;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Rig {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'mlpipe-test-'));
    mkdirSync(join(this.dir, 'pipelines'));
  }

  write(files: Record<string, string | Uint8Array>): this {
    for (const [path, content] of Object.entries(files)) {
      const abs = join(this.dir, path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
    return this;
  }

  run(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): RunResult {
    return runCli(args, { cwd: options.cwd ?? this.dir, ...(options.env ? { env: options.env } : {}) });
  }

  /** `mlpipe run --json ARGS`: exit code, each stage's outcome and the raw events. */
  runJson(args: string[] = [], options: { env?: Record<string, string> } = {}): { code: number; outcomes: Record<string, string>; events: RunEvent[]; stderr: string } {
    const r = this.run(['run', '--json', ...args], options);
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(parseEvent);
    const outcomes: Record<string, string> = {};
    for (const e of events) if (e.type === 'stage-finished') outcomes[e.stage as string] = e.outcome as string;
    return { code: r.code, outcomes, events, stderr: r.stderr };
  }

  read(path: string): string {
    return readFileSync(join(this.dir, path), 'utf8');
  }

  exists(path: string): boolean {
    return existsSync(join(this.dir, path));
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function runCli(args: string[], options: { cwd: string; env?: Record<string, string> }): RunResult {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  delete env.GITHUB_ACTIONS;
  if (options.env?.GITHUB_ACTIONS) env.GITHUB_ACTIONS = options.env.GITHUB_ACTIONS;
  delete env.FORCE_COLOR;
  if (options.env?.FORCE_COLOR) {
    env.FORCE_COLOR = options.env.FORCE_COLOR;
    delete env.NO_COLOR;
  }
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd, env, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** "file:line:col: error: message" lines of a run's stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^\S+:\d+:\d+: (error|warning): /.test(l));
}

/** `mlpipe serve ARGS` in the background (on a free port of 127.0.0.1); `ready()` resolves once it listens. */
export class ServeProcess {
  readonly child: ChildProcess;
  stderr = '';
  url = '';
  readonly exit: Promise<number | null>;

  constructor(cwd: string, args: string[]) {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    this.child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exit = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  async ready(ms = 20_000): Promise<this> {
    const end = Date.now() + ms;
    for (;;) {
      const m = / on (http:\/\/[^ ]+) /.exec(this.stderr);
      if (m) {
        this.url = m[1]!;
        return this;
      }
      if (this.child.exitCode !== null || Date.now() > end) throw new Error(`server did not start: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  post(body: string, type = 'application/json') {
    return fetch(`${this.url}/invocations`, { method: 'POST', headers: { 'content-type': type }, body });
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exit;
  }
}

/** The built CLI in the background: the child, and its exit code, signal and output once it ends. */
export function start(r: Rig, args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.GITHUB_ACTIONS;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: r.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

