// Git as a read-only source: where the project sits in its repository, which
// commit a revision name means (experiment names included), and the bytes of
// files at any commit through one long-lived `git cat-file --batch` process
// (many files, one process; nothing is checked out).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** Files larger than this are not read from git (params, metrics and lock files are small). */
export const MAX_BLOB_BYTES = 64 * 1024 * 1024;

/** The namespace experiments live in: refs/exps/<base commit>/<name>. */
export const EXPS_REFS = 'refs/exps';

export class GitError extends Error {}

export interface GitRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs git synchronously in `cwd` (for the few metadata calls; file contents go through CatFile). */
export function git(cwd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): GitRun {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    ...(options.input !== undefined ? { input: options.input } : {}),
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env },
  });
  if (r.error) throw new GitError(`could not run git: ${r.error.message}`);
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Like git() but throws GitError with git's own message unless it exits 0. */
export function gitOk(cwd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = git(cwd, args, options);
  if (r.code !== 0) throw new GitError(`git ${args[0]} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  return r.stdout;
}

export interface Experiment {
  readonly name: string;
  readonly base: string;
  readonly commit: string;
  readonly ref: string;
}

/** The repository a project lives in. */
export class GitRepo {
  private constructor(
    /** The project root. */
    readonly root: string,
    /** The work tree's top directory. */
    readonly top: string,
    /** The project root relative to the top, "" or "sub/dir/". */
    readonly prefix: string,
  ) {}

  /** The repository of `root`, or undefined outside a git work tree. */
  static open(root: string): GitRepo | undefined {
    // The common case without a process: the nearest ancestor holding .git (git itself when GIT_DIR or GIT_WORK_TREE say otherwise).
    if (process.env.GIT_DIR === undefined && process.env.GIT_WORK_TREE === undefined) {
      try {
        const real = realpathSync.native(root);
        for (let dir = real; ; dir = dirname(dir)) {
          if (existsSync(join(dir, '.git'))) {
            const rel = relative(dir, real).split(sep).join('/');
            return new GitRepo(root, dir, rel === '' ? '' : `${rel}/`);
          }
          if (dirname(dir) === dir) return undefined;
        }
      } catch {
        // fall back to asking git
      }
    }
    let r: GitRun;
    try {
      r = git(root, ['rev-parse', '--show-toplevel']);
    } catch {
      return undefined;
    }
    if (r.code !== 0) return undefined;
    const top = r.stdout.trim();
    const rel = relative(top, root).split(sep).join('/');
    return new GitRepo(root, top, rel === '' ? '' : `${rel}/`);
  }

  git(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): GitRun {
    return git(this.root, args, options);
  }

  gitOk(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
    return gitOk(this.root, args, options);
  }

  /** The commit HEAD names, or undefined in a repository without commits. */
  head(): string | undefined {
    const r = this.git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  /** Every experiment, or those of one base commit. */
  experiments(base?: string): Experiment[] {
    const r = this.git(['for-each-ref', '--format=%(objectname) %(refname)', base ? `${EXPS_REFS}/${base}/` : `${EXPS_REFS}/`]);
    if (r.code !== 0) return [];
    const out: Experiment[] = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^([0-9a-f]{40,64}) (refs\/exps\/([0-9a-f]{40,64})\/(.+))$/.exec(line);
      if (m) out.push({ commit: m[1]!, ref: m[2]!, base: m[3]!, name: m[4]! });
    }
    return out;
  }

  /**
   * The commit a revision names: anything `git rev-parse` accepts, or an
   * experiment name (those of HEAD first). Undefined when it names nothing.
   */
  resolve(rev: string): { commit: string; experiment?: Experiment } | undefined {
    if (rev.startsWith('-') || rev.includes('\n')) return undefined;
    const r = this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    if (r.code === 0) return { commit: r.stdout.trim() };
    const head = this.head();
    const exps = this.experiments().filter((e) => e.name === rev);
    const exp = exps.find((e) => e.base === head) ?? exps[0];
    return exp ? { commit: exp.commit, experiment: exp } : undefined;
  }

  /** Names a user might have meant: branches, tags and experiment names. */
  revisionNames(): string[] {
    const r = this.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/', 'refs/tags/', 'refs/remotes/']);
    return [...(r.code === 0 ? r.stdout.split('\n').filter((l) => l !== '') : []), ...this.experiments().map((e) => e.name)];
  }
}

interface Pending {
  readonly resolve: (value: { oid: string; type: string; bytes: Buffer } | undefined) => void;
  readonly reject: (e: Error) => void;
}

/**
 * One `git cat-file --batch` process: requests are written as "<commit>:<path>"
 * lines and answered in order. Objects over MAX_BLOB_BYTES are skipped (their
 * bytes are read and dropped), so a huge blob cannot exhaust memory.
 */
export class CatFile {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  /** The object being received: its header is parsed, its bytes are not all here yet. */
  private body: { oid: string; type: string; size: number; chunks: Buffer[]; got: number; keep: boolean } | undefined;
  private failed: Error | undefined;

  constructor(private readonly repo: GitRepo) {
    this.child = spawn('git', ['cat-file', '--batch'], { cwd: repo.root, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    this.child.stdout.on('data', (d: Buffer) => this.receive(d));
    this.child.on('error', (e) => this.fail(new GitError(`could not run git cat-file: ${e.message}`)));
    this.child.on('close', (code) => {
      if (this.queue.length > 0) this.fail(new GitError(`git cat-file exited (code ${code}) with requests unanswered`));
    });
    this.child.stdin.on('error', () => {});
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.queue.splice(0)) p.reject(e);
  }

  /** A file of the project (a root-relative path) at a commit: its bytes, or undefined when absent, not a file, or too large. */
  async read(commit: string, path: string): Promise<Buffer | undefined> {
    return (await this.readBlob(commit, path))?.bytes;
  }

  /** The commit a revision expression names (`HEAD~1`, a branch, a tag, an id), or undefined. */
  async commitOf(rev: string): Promise<string | undefined> {
    if (rev.startsWith('-') || /[\n:]/.test(rev)) return undefined;
    const o = await this.object(`${rev}^{commit}`);
    return o?.type === 'commit' ? o.oid : undefined;
  }

  /** Like read(), with the blob's object id (a key for caching what it parses to). */
  async readBlob(commit: string, path: string): Promise<{ oid: string; bytes: Buffer } | undefined> {
    const o = await this.object(`${commit}:${this.repo.prefix}${path}`);
    return o?.type === 'blob' ? { oid: o.oid, bytes: o.bytes } : undefined;
  }

  /** The names in a directory of the project at a commit (files and directories), or undefined. */
  async list(commit: string, dir: string): Promise<{ name: string; isDir: boolean }[] | undefined> {
    const o = await this.object(`${commit}:${this.repo.prefix}${dir}`);
    return o?.type === 'tree' ? parseTree(o.bytes) : undefined;
  }

  object(spec: string): Promise<{ oid: string; type: string; bytes: Buffer } | undefined> {
    if (this.failed) return Promise.reject(this.failed);
    if (spec.includes('\n')) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.child.stdin.write(`${spec}\n`);
    });
  }

  private receive(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.body) {
        const need = this.body.size + 1 - this.body.got; // contents and the closing LF
        const take = Math.min(need, this.buffer.length);
        if (this.body.keep) this.body.chunks.push(this.buffer.subarray(0, take));
        this.body.got += take;
        this.buffer = this.buffer.subarray(take);
        if (this.body.got < this.body.size + 1) return;
        const { oid, type, chunks, keep } = this.body;
        this.body = undefined;
        const bytes = keep ? Buffer.concat(chunks).subarray(0, -1) : undefined;
        this.queue.shift()?.resolve(bytes ? { oid, type, bytes } : undefined);
        continue;
      }
      const nl = this.buffer.indexOf(10);
      if (nl === -1) return;
      const header = this.buffer.subarray(0, nl).toString('utf8');
      this.buffer = this.buffer.subarray(nl + 1);
      const m = /^([0-9a-f]+) (\w+) (\d+)$/.exec(header);
      if (!m) {
        this.queue.shift()?.resolve(undefined); // "<spec> missing" or "ambiguous"
        continue;
      }
      const size = Number(m[3]);
      this.body = { oid: m[1]!, type: m[2]!, size, chunks: [], got: 0, keep: size <= MAX_BLOB_BYTES };
    }
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** Git's binary tree format: "<mode> <name>\0<raw object id>" repeated. */
function parseTree(bytes: Buffer): { name: string; isDir: boolean }[] {
  const out: { name: string; isDir: boolean }[] = [];
  // The object id's length: SHA-1 repositories use 20 bytes, SHA-256 ones 32.
  const idLength = bytes.length > 0 ? guessIdLength(bytes) : 20;
  let i = 0;
  while (i < bytes.length) {
    const space = bytes.indexOf(32, i);
    const nul = bytes.indexOf(0, space);
    if (space === -1 || nul === -1) break;
    const mode = bytes.subarray(i, space).toString('latin1');
    out.push({ name: bytes.subarray(space + 1, nul).toString('utf8'), isDir: mode === '40000' });
    i = nul + 1 + idLength;
  }
  return out;
}

function guessIdLength(bytes: Buffer): number {
  // After the first entry's NUL, a 20-byte id is followed by a mode digit (or the end).
  const nul = bytes.indexOf(0);
  const after = nul + 1 + 20;
  return after >= bytes.length || (bytes[after]! >= 0x31 && bytes[after]! <= 0x37) ? 20 : 32;
}
