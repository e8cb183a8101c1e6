// Sharing results through the CLI, as a team and a CI runner would: push from
// one clone, `run --pull` in a fresh clone executes nothing; pull, status
// --remote, run --push; and the faults: a corrupted blob planted on the
// remote, a server stopped mid-way, kill -9 during a push, a read-only
// remote, wrong credentials, bad configuration. Remotes: a directory, nginx
// (WebDAV) and s3rver, started here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, Rig, runCli, start, waitFor } from '../rig.js';
import { startNginx, startS3, type NginxServer, type S3Server } from '../remote-servers.js';

const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...gitEnv } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Three stages; `make` writes many files into a directory output. */
const PROJECT = {
  '.gitignore': '/.mlpipe/\n',
  'params.yaml': 'n: 3\nfiles: 40\n',
  'make.js': "const fs = require('fs'); const [n, files] = process.argv.slice(2).map(Number); fs.mkdirSync('out/many', { recursive: true }); for (let i = 0; i < files; i++) fs.writeFileSync('out/many/f' + i + '.txt', 'file ' + i + ' of ' + n + '\\n'); fs.writeFileSync('runs.log', (fs.existsSync('runs.log') ? fs.readFileSync('runs.log', 'utf8') : '') + 'make\\n');\n",
  'pipelines/p.yaml': `stages:
  make:
    cmd: node make.js \${n} \${files}
    deps: [make.js]
    outs: [out/many/]
  count:
    cmd: ls out/many | wc -l > out/count.txt
    deps: [out/many/]
    outs: [out/count.txt]
  report:
    cmd: cat out/count.txt > out/report.txt
    deps: [out/count.txt]
    outs: [out/report.txt]
`,
};

/** A committed project, run once. */
function project(remoteUrl: string, extra: Record<string, string> = {}): Rig {
  const rig = new Rig().write({ ...PROJECT, ...extra, 'mlpipe.config.yaml': `remotes:\n  team:\n    url: ${JSON.stringify(remoteUrl)}\ndefault_remote: team\n` });
  git(rig.dir, 'init', '-q', '-b', 'main');
  return rig;
}

function commit(rig: Rig): void {
  git(rig.dir, 'add', '-A');
  git(rig.dir, 'commit', '-qm', 'work');
}

/** A fresh clone of a rig's repository (no .mlpipe/, no outputs). */
function cloneOf(rig: Rig): Rig {
  const other = new Rig();
  rmSync(other.dir, { recursive: true, force: true });
  git(tmpdir(), 'clone', '-q', rig.dir, other.dir);
  return other;
}

function executed(r: { events: { type: string; outcome?: unknown }[] }): number {
  return r.events.filter((e) => e.type === 'stage-finished' && e.outcome === 'ran').length;
}

let nginx: NginxServer & { cleanup(): void };
let s3: S3Server & { cleanup(): void };
const cleanup: (() => void)[] = [];
beforeAll(async () => {
  nginx = (await startNginx()) as NginxServer & { cleanup(): void };
  s3 = await startS3();
}, 30_000);
afterAll(async () => {
  for (const c of cleanup) c();
  await nginx?.stop();
  nginx?.cleanup();
  await s3?.stop();
  s3?.cleanup();
});

function track(...rigs: Rig[]): void {
  for (const r of rigs) cleanup.push(() => r.cleanup());
}

describe.each([
  ['directory', () => join(mkdtempSync(join(tmpdir(), 'mlpipe-remote-')), 'cache'), {}],
  ['http (nginx)', () => `${nginx.url}/${Math.random().toString(16).slice(2)}`, {}],
  ['s3 (s3rver)', () => `s3://cache/${Math.random().toString(16).slice(2)}`, {}],
] as const)('sharing through a %s remote', (kind, url) => {
  it('push, then a fresh clone with run --pull executes nothing; pull restores a wiped cache', () => {
    const remote = url();
    const s3Config = kind.startsWith('s3') ? `    endpoint: ${s3.endpoint}\n    path_style: true\n` : '';
    const env = kind.startsWith('s3') ? s3.env : {};
    const a = project(remote);
    if (s3Config) a.write({ 'mlpipe.config.yaml': `remotes:\n  team:\n    url: ${remote}\n${s3Config}default_remote: team\n` });
    track(a);
    expect(a.runJson([], { env }).code).toBe(0);
    commit(a);
    expect(a.run(['status', '--remote'], { env }).stdout).toContain('p:make  out/many  not on team (41 of 41 objects)');
    const pushed = a.run(['push'], { env });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(/pushed 42 files \(.+\) and 3 records to team; 0 \(0 B\) already there/);
    expect(a.run(['push'], { env }).stderr).toMatch(/pushed 0 files \(0 B\) and 0 records to team; 42 \(.+\) already there/);
    expect(a.run(['status', '--remote'], { env }).stderr).toContain('team has every output the lock files record');

    const b = cloneOf(a);
    track(b);
    const pulled = b.runJson(['--pull'], { env });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(executed(pulled)).toBe(0);
    expect(pulled.outcomes).toEqual({ 'p:make': 'restored', 'p:count': 'restored', 'p:report': 'restored' });
    expect(b.read('out/report.txt').trim()).toBe('40');
    expect(b.read('runs.log')).toBe('make\n'); // as committed: make did not run here
    expect(git(b.dir, 'status', '--porcelain')).toBe('');

    rmSync(join(b.dir, '.mlpipe', 'cache'), { recursive: true, force: true });
    rmSync(join(b.dir, 'out'), { recursive: true, force: true });
    const pull = b.run(['pull'], { env });
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stderr).toMatch(/fetched 42 files/);
    expect(b.read('out/many/f39.txt')).toBe('file 39 of 3\n');
    expect(b.runJson([], { env }).outcomes).toEqual({ 'p:make': 'fresh', 'p:count': 'fresh', 'p:report': 'fresh' });
  }, 60_000);
});

describe('revisions and experiments through the remote', () => {
  it('metrics diff reads another revision\'s cached metrics from the remote; exp push|pull carry the outputs with the refs', () => {
    const remote = join(mkdtempSync(join(tmpdir(), 'mlpipe-remote-')), 'cache');
    const bare = mkdtempSync(join(tmpdir(), 'mlpipe-bare-'));
    cleanup.push(() => rmSync(bare, { recursive: true, force: true }));
    git(bare, 'init', '-q', '--bare', '-b', 'main');
    const a = project(remote, {
      'summary.js': "require('fs').mkdirSync('out/summary', { recursive: true }); require('fs').writeFileSync('out/summary/metrics.json', JSON.stringify({ n: Number(process.argv[2]) }));\n",
      'pipelines/p.yaml': `${PROJECT['pipelines/p.yaml']}  summary:\n    cmd: node summary.js \${n}\n    deps: [summary.js]\n    outs: [out/summary/]\n`.replace('stages:', 'metrics: [out/summary/metrics.json]\nstages:'),
    });
    track(a);
    expect(a.runJson().code).toBe(0);
    commit(a);
    git(a.dir, 'push', '-q', bare, 'main');
    expect(a.run(['push']).code).toBe(0);
    expect(a.run(['exp', 'run', '--set', 'n=5', '-n', 'five']).code).toBe(0);
    const pushed = a.run(['exp', 'push', bare]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(/pushed \d+ cache objects? and \d+ records? to team/);

    const b = new Rig();
    rmSync(b.dir, { recursive: true, force: true });
    git(tmpdir(), 'clone', '-q', bare, b.dir);
    track(b);
    b.write({ 'params.yaml': 'n: 7\nfiles: 40\n' });
    expect(b.runJson().code).toBe(0);
    // HEAD's metrics file is cached, not committed: it comes from the remote.
    expect(b.run(['metrics', 'diff']).stdout).toMatch(/out\/summary\/metrics\.json\s+n\s+3\s+7\s+\+4/);
    const pulled = b.run(['exp', 'pull', 'origin']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stderr).toMatch(/fetched \d+ cache objects? from team/);
    b.write({ 'params.yaml': 'n: 3\nfiles: 40\n' });
    const applied = b.run(['exp', 'apply', 'five', '--force']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(b.read('out/many/f1.txt')).toBe('file 1 of 5\n');
    expect(b.runJson().outcomes).toEqual({ 'p:make': 'fresh', 'p:count': 'fresh', 'p:report': 'fresh', 'p:summary': 'fresh' });
  }, 60_000);
});

describe('run --push and the faults', () => {
  it('run --push uploads as stages finish; a teammate pulls a changed param without running it', () => {
    const remote = join(mkdtempSync(join(tmpdir(), 'mlpipe-remote-')), 'cache');
    const a = project(remote);
    track(a);
    expect(a.runJson(['--push']).code).toBe(0);
    commit(a);
    a.write({ 'params.yaml': 'n: 4\nfiles: 40\n' });
    expect(a.runJson(['--push']).outcomes['p:make']).toBe('ran');
    const b = cloneOf(a);
    track(b);
    b.write({ 'params.yaml': 'n: 4\nfiles: 40\n' });
    const r = b.runJson(['--pull']);
    expect(executed(r)).toBe(0);
    expect(b.read('out/many/f0.txt')).toBe('file 0 of 4\n');
    expect(r.events.find((e) => e.type === 'stage-finished' && e.stage === 'p:make')!.message).toMatch(/^pulled from remote team/);
  }, 60_000);

  it('a corrupted blob planted on the remote is detected, not used, and the stage runs instead', () => {
    const remote = join(mkdtempSync(join(tmpdir(), 'mlpipe-remote-')), 'cache');
    const a = project(remote);
    track(a);
    a.runJson();
    commit(a);
    expect(a.run(['push']).code).toBe(0);
    // Poison the count stage's output: same name, other bytes.
    const lock = readFileSync(join(a.dir, 'pipelines/p.lock'), 'utf8');
    const countHash = /out\/count\.txt:\n(?:\s+\w+: .*\n)*?\s+hash: "?([0-9a-f]{32})/.exec(lock)![1]!;
    writeFileSync(join(remote, 'cas', countHash), '999\n');
    const b = cloneOf(a);
    track(b);
    const r = b.runJson(['--pull']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warning: remote "team": object ${countHash} does not match its hash; not used, the stage runs instead`);
    expect(r.outcomes['p:count']).toBe('ran');
    expect(b.read('out/count.txt').trim()).toBe('40');
    expect(existsSync(join(b.dir, '.mlpipe', 'cache', 'objects', countHash.slice(0, 2), countHash.slice(2)))).toBe(true); // the good bytes, made here
  }, 60_000);

  it('a server stopped mid-way: push exits 1 with a clear message, nothing local changes, and the next push completes', async () => {
    const a = project(`${nginx.url}/stopped`);
    track(a);
    a.runJson();
    await nginx.stop();
    let r = a.run(['push']);
    await nginx.start();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: remote "team": cannot reach http:\/\/127\.0\.0\.1:\d+\/cache\/stopped \(ECONNREFUSED\)/);
    expect(r.stderr).toContain('nothing is lost: run it again');
    expect(a.runJson().outcomes).toEqual({ 'p:make': 'fresh', 'p:count': 'fresh', 'p:report': 'fresh' });
    r = a.run(['push']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/pushed 42 files/);
  }, 60_000);

  it('kill -9 during a push: the remote never holds a record whose blobs are missing, and the next push completes', async () => {
    const remote = join(mkdtempSync(join(tmpdir(), 'mlpipe-remote-')), 'cache');
    const a = project(remote, { 'params.yaml': 'n: 3\nfiles: 3000\n' });
    track(a);
    a.runJson();
    const push = start(a, ['push', '-j', '2']);
    await waitFor(() => existsSync(join(remote, 'cas')) && readdirSync(join(remote, 'cas')).length > 50, 20_000);
    push.child.kill('SIGKILL');
    await push.done;
    const recordsComplete = () => {
      for (const key of existsSync(join(remote, 'ac')) ? readdirSync(join(remote, 'ac')) : []) {
        const rec = JSON.parse(readFileSync(join(remote, 'ac', key), 'utf8')) as { outs: Record<string, { hash: string; files?: number }> };
        for (const out of Object.values(rec.outs)) {
          if (!existsSync(join(remote, 'cas', out.hash))) return false;
          if (out.files !== undefined) for (const [, h] of JSON.parse(readFileSync(join(remote, 'cas', out.hash), 'utf8')) as [string, string][]) if (!existsSync(join(remote, 'cas', h))) return false;
        }
      }
      return true;
    };
    expect(recordsComplete()).toBe(true);
    expect(readdirSync(join(remote, 'cas')).length).toBeLessThan(3002);
    const again = a.run(['push']);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(join(remote, 'cas')).filter((n) => !n.startsWith('.tmp')).length).toBe(3002);
    expect(readdirSync(join(remote, 'ac'))).toHaveLength(3);
    expect(recordsComplete()).toBe(true);
  }, 60_000);

  it('a read-only remote: push exits 2 saying so, run --push warns once and runs', () => {
    const remote = join(mkdtempSync(join(tmpdir(), 'mlpipe-remote-')), 'cache');
    const a = project(remote);
    track(a);
    a.write({ 'mlpipe.config.yaml': `remotes:\n  forks:\n    url: ${remote}\n    read_only: true\ndefault_remote: forks\n` });
    const r = a.runJson(['--push']);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/read-only/g)).toHaveLength(1);
    const push = a.run(['push']);
    expect(push.code).toBe(2);
    expect(push.stderr).toContain('error: remote "forks" is read-only (read_only: true): nothing is pushed to it');
    expect(existsSync(remote)).toBe(false);
  });

  it('wrong S3 credentials: a one-line error naming the remote, never the secret', () => {
    const a = project('s3://cache/creds');
    track(a);
    a.write({ 'mlpipe.config.yaml': `remotes:\n  team:\n    url: s3://cache/creds\n    endpoint: ${s3.endpoint}\n    path_style: true\ndefault_remote: team\n` });
    a.runJson();
    const secret = 'sup3r-s3cret-value';
    const r = a.run(['push'], { env: { ...s3.env, AWS_ACCESS_KEY_ID: 'NOPE', AWS_SECRET_ACCESS_KEY: secret } });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(lines[0]).toMatch(/^error: remote "team": access denied \((InvalidAccessKeyId|HTTP 403)\)/);
    expect(r.stderr + r.stdout).not.toContain(secret);
  });

  it('bad configuration is a located error: credentials in the committed file, an unknown scheme, an unknown remote', () => {
    const a = project('/tmp/x');
    track(a);
    a.write({ 'mlpipe.config.yaml': 'remotes:\n  team:\n    url: https://me:hunter2@cache.example/x\n  gcs:\n    url: gs://bucket/x\n' });
    const r = a.run(['validate']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      'mlpipe.config.yaml:3:10: error: remote "team": the URL has credentials in it, and mlpipe.config.yaml is committed',
      'mlpipe.config.yaml:5:10: error: remote "gcs": unsupported URL scheme in "gs://bucket/x"',
    ]);
    expect(r.stderr).toContain('--local');
    a.write({ 'mlpipe.config.yaml': 'remotes:\n  team: { url: /tmp/x }\n' });
    const unknown = a.run(['push', '-r', 'tema']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: no remote named "tema" — did you mean "team"?');
    const none = runCli(['run', '--pull'], { cwd: a.dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('run --pull: no remote chosen (team is configured)');
    // A password in a local URL is never shown back.
    expect(a.run(['remote', 'add', 'private', 'https://me:hunter2@cache.example/x', '--local']).stderr).not.toContain('hunter2');
    const listed = a.run(['remote', 'list']);
    expect(listed.stdout).toContain('private\thttps://***@cache.example/x');
    expect(listed.stdout + a.run(['remote', 'list', '--json']).stdout).not.toContain('hunter2');
  });
});
