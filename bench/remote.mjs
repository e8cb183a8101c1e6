// Remote caches against rclone, side by side in one run, on the same files
// and the same targets (a directory, and nginx with WebDAV on loopback):
//   1. 10,000 small files: push and pull throughput (files/s), and a second
//      push with nothing new;
//   2. one 1 GiB file: push and pull throughput (MB/s) and peak RSS;
//   3. a fresh clone of the bundled project + `run --pull` from a pushed
//      remote: stages executed (0), against its no-op time + transfer time.
// BENCH_ROUNDS (default 3) rounds, medians; BENCH_BIG_MB (default 1024).
// Needs Debian's nginx, libnginx-mod-http-dav-ext (PROPFIND, for rclone) and rclone.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, median, writeResults } from './lib.mjs';

const node = process.execPath;
const bin = join(REPO, 'bin', 'mlpipe.js');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const bigMb = Number(process.env.BENCH_BIG_MB ?? 1024);
/** rclone's WebDAV backend lists with PROPFIND, which nginx has through this module (Debian: libnginx-mod-http-dav-ext). */
const DAV_EXT = '/usr/lib/nginx/modules/ngx_http_dav_ext_module.so';
const gitEnv = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@b' };

function sh(cwd, cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...gitEnv, ...env }, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Wall ms and peak RSS (KiB, from /usr/bin/time) of one command. */
function timed(cwd, cmd, args, env = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...gitEnv, ...env }, maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  const rss = Number(r.stderr.trim().split('\n').pop());
  return { ms, rssKb: rss };
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNginx() {
  const prefix = mkdtempSync(join(tmpdir(), 'mlpipe-bench-nginx-'));
  for (const d of ['data', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(prefix, d), { recursive: true });
  const port = await freePort();
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `${existsSync(DAV_EXT) ? `load_module ${DAV_EXT};` : ''}
${process.getuid() === 0 ? 'user root;' : ''}
daemon off; master_process off; worker_processes 1; pid ${prefix}/nginx.pid; error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi; client_max_body_size 0;
  server { listen 127.0.0.1:${port}; root ${prefix}/data; location / { dav_methods PUT DELETE MKCOL COPY MOVE; ${existsSync(DAV_EXT) ? 'dav_ext_methods PROPFIND OPTIONS;' : ''} create_full_put_path on; } } }
`,
  );
  const child = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs', 'error.log')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { url: `http://127.0.0.1:${port}`, data: join(prefix, 'data'), stop: () => child.kill('SIGKILL'), prefix };
}

function project(files, bytesEach, big) {
  const dir = mkdtempSync(join(tmpdir(), 'mlpipe-bench-remote-'));
  mkdirSync(join(dir, 'pipelines'));
  writeFileSync(
    join(dir, 'make.js'),
    big
      ? `const fs = require('fs'); fs.mkdirSync('out', { recursive: true }); const fd = fs.openSync('out/big.bin', 'w'); const chunk = Buffer.alloc(1 << 20); for (let i = 0; i < ${bigMb}; i++) { require('crypto').randomFillSync(chunk); fs.writeSync(fd, chunk); } fs.closeSync(fd);\n`
      : `const fs = require('fs'); fs.mkdirSync('out/many', { recursive: true }); for (let i = 0; i < ${files}; i++) fs.writeFileSync('out/many/f' + i + '.txt', require('crypto').randomBytes(${bytesEach}));\n`,
  );
  writeFileSync(join(dir, 'pipelines', 'p.yaml'), `stages:\n  make:\n    cmd: node make.js\n    deps: [make.js]\n    outs: [${big ? 'out/big.bin' : 'out/many/'}]\n`);
  sh(dir, node, [bin, 'run']);
  return dir;
}

function remoteConfig(dir, url) {
  writeFileSync(join(dir, 'mlpipe.config.yaml'), `remotes:\n  bench:\n    url: ${JSON.stringify(url)}\ndefault_remote: bench\n`);
  rmSync(join(dir, '.mlpipe', 'remotes'), { recursive: true, force: true });
}

const rows = [];
const lines = [`# Remote caches against rclone (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, rclone ${sh(REPO, 'rclone', ['version']).stdout.split('\n')[0].split(' ').pop()}; medians of ${rounds})`, ''];
const nginx = await startNginx();
try {
  // ---- 1. 10,000 small files ----
  {
    const files = 10_000;
    const dir = project(files, 1024, false);
    const src = join(dir, 'out', 'many');
    const cases = { dir: [], http: [] };
    const res = { push: { dir: [], http: [] }, rclonePush: { dir: [], http: [] }, noop: { dir: [], http: [] }, pull: { dir: [], http: [] }, rclonePull: { dir: [], http: [] } };
    for (let r = 0; r < rounds; r++) {
      for (const target of ['dir', 'http']) {
        const tag = `${target}-${r}-${Math.random().toString(16).slice(2, 8)}`;
        const url = target === 'dir' ? join(tmpdir(), `mlpipe-bench-dir-${tag}`) : `${nginx.url}/m-${tag}`;
        remoteConfig(dir, url);
        res.push[target].push(timed(dir, node, [bin, 'push']).ms);
        res.noop[target].push(timed(dir, node, [bin, 'push']).ms);
        // rclone: the same 10,000 files to the same kind of target.
        const rdest = target === 'dir' ? join(tmpdir(), `rclone-bench-dir-${tag}`) : `:webdav:r-${tag}`;
        const rflags = target === 'dir' ? [] : ['--webdav-url', nginx.url];
        res.rclonePush[target].push(timed(dir, 'rclone', ['copy', src, rdest, '--transfers', '16', '--checkers', '16', ...rflags]).ms);
        // Pull: an empty local cache, everything from the remote; rclone: the same files back into an empty directory.
        rmSync(join(dir, '.mlpipe', 'cache'), { recursive: true, force: true });
        res.pull[target].push(timed(dir, node, [bin, 'fetch']).ms);
        const back = join(tmpdir(), `rclone-bench-back-${tag}`);
        const from = target === 'dir' ? rdest : `:webdav:r-${tag}`;
        if (target === 'dir') res.rclonePull[target].push(timed(dir, 'rclone', ['copy', from, back, '--transfers', '16', '--checkers', '16']).ms);
        else res.rclonePull[target].push(timed(dir, 'rclone', ['copy', from, back, '--webdav-url', nginx.url, '--transfers', '16', '--checkers', '16']).ms);
        for (const p of [url, rdest, back]) if (!p.startsWith(':') && !p.startsWith('http')) rmSync(p, { recursive: true, force: true });
      }
    }
    lines.push('## 10,000 files of 1 KiB (targets: push and pull ≥ 1× rclone\'s files/s; a second push with nothing new ≤ 0.5 s)', '', '| target | mlpipe push | rclone copy up | ratio | mlpipe fetch | rclone copy down | ratio | second push |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const target of ['dir', 'http']) {
      const p = median(res.push[target]);
      const rp = median(res.rclonePush[target]);
      const f = median(res.pull[target]);
      const rf = median(res.rclonePull[target]);
      const n = median(res.noop[target]);
      const fps = (ms) => `${Math.round(files / (ms / 1000))} files/s`;
      lines.push(`| ${target === 'dir' ? 'directory' : 'HTTP (nginx WebDAV)'} | ${fps(p)} | ${fps(rp)} | ${(rp / p).toFixed(2)}× | ${fps(f)} | ${fps(rf)} | ${(rf / f).toFixed(2)}× | ${(n / 1000).toFixed(2)} s |`);
      rows.push({ bench: 'remote-small', target, push_ms: p, rclone_push_ms: rp, fetch_ms: f, rclone_fetch_ms: rf, noop_push_ms: n, rounds });
    }
    lines.push('', 'Ratio: rclone\'s time ÷ mlpipe\'s (above 1: mlpipe moves more files per second).', '');
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- 2. one big file ----
  {
    const dir = project(0, 0, true);
    const src = join(dir, 'out', 'big.bin');
    const res = { push: { dir: [], http: [] }, rclonePush: { dir: [], http: [] }, pull: { dir: [], http: [] }, rclonePull: { dir: [], http: [] }, rss: [] };
    for (let r = 0; r < rounds; r++) {
      for (const target of ['dir', 'http']) {
        const tag = `${target}-${r}-${Math.random().toString(16).slice(2, 8)}`;
        const url = target === 'dir' ? join(tmpdir(), `mlpipe-bench-big-${tag}`) : `${nginx.url}/b-${tag}`;
        remoteConfig(dir, url);
        const up = timed(dir, node, [bin, 'push']);
        res.push[target].push(up.ms);
        res.rss.push(up.rssKb);
        const rdest = target === 'dir' ? join(tmpdir(), `rclone-bench-big-${tag}`) : `:webdav:rb-${tag}`;
        const rflags = target === 'dir' ? [] : ['--webdav-url', nginx.url];
        res.rclonePush[target].push(timed(dir, 'rclone', ['copy', src, rdest, ...rflags]).ms);
        rmSync(join(dir, '.mlpipe', 'cache'), { recursive: true, force: true });
        const down = timed(dir, node, [bin, 'fetch']);
        res.pull[target].push(down.ms);
        res.rss.push(down.rssKb);
        const back = join(tmpdir(), `rclone-bench-bigback-${tag}`);
        if (target === 'dir') res.rclonePull[target].push(timed(dir, 'rclone', ['copy', rdest, back]).ms);
        else res.rclonePull[target].push(timed(dir, 'rclone', ['copy', rdest, back, '--webdav-url', nginx.url]).ms);
        for (const p of [url, rdest, back]) if (!p.startsWith(':') && !p.startsWith('http')) rmSync(p, { recursive: true, force: true });
        rmSync(join(nginx.data), { recursive: true, force: true });
        mkdirSync(nginx.data);
      }
    }
    lines.push(`## One ${bigMb} MiB file (targets: ≥ 0.8× rclone's throughput, peak RSS < 200 MB)`, '', '| target | mlpipe push | rclone copy up | ratio | mlpipe fetch | rclone copy down | ratio |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const target of ['dir', 'http']) {
      const mbps = (ms) => `${Math.round(bigMb / (ms / 1000))} MB/s`;
      const p = median(res.push[target]);
      const rp = median(res.rclonePush[target]);
      const f = median(res.pull[target]);
      const rf = median(res.rclonePull[target]);
      lines.push(`| ${target === 'dir' ? 'directory' : 'HTTP (nginx WebDAV)'} | ${mbps(p)} | ${mbps(rp)} | ${(rp / p).toFixed(2)}× | ${mbps(f)} | ${mbps(rf)} | ${(rf / f).toFixed(2)}× |`);
      rows.push({ bench: 'remote-big', target, mb: bigMb, push_ms: p, rclone_push_ms: rp, fetch_ms: f, rclone_fetch_ms: rf, rounds });
    }
    const rss = Math.max(...res.rss) / 1024;
    lines.push('', `Peak RSS of mlpipe push/fetch over every round: ${rss.toFixed(0)} MB.`, '');
    rows.push({ bench: 'remote-big-rss', peak_rss_mb: Math.round(rss) });
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  nginx.stop();
  rmSync(nginx.prefix, { recursive: true, force: true });
}

// ---- 3. a fresh clone of the bundled project + run --pull ----
{
  const remote = join(tmpdir(), `mlpipe-bench-bundled-remote-${Math.random().toString(16).slice(2, 8)}`);
  const origin = mkdtempSync(join(tmpdir(), 'mlpipe-bench-origin-'));
  sh(REPO, 'git', ['clone', '-q', REPO, origin]);
  symlinkSync(join(REPO, 'node_modules'), join(origin, 'node_modules'));
  cpSync(join(REPO, 'dist'), join(origin, 'dist'), { recursive: true });
  sh(origin, node, [bin, 'run']);
  sh(origin, node, [bin, 'remote', 'add', 'team', remote, '--default', '--local']);
  sh(origin, node, [bin, 'push']);
  const pullMs = [];
  const noopMs = [];
  const fetchMs = [];
  let executedStages = -1;
  for (let r = 0; r < rounds; r++) {
    const fresh = () => {
      const c = mkdtempSync(join(tmpdir(), 'mlpipe-bench-clone-'));
      sh(REPO, 'git', ['clone', '-q', REPO, c]);
      symlinkSync(join(REPO, 'node_modules'), join(c, 'node_modules'));
      cpSync(join(REPO, 'dist'), join(c, 'dist'), { recursive: true });
      mkdirSync(join(c, '.mlpipe'), { recursive: true });
      writeFileSync(join(c, '.mlpipe', 'config.yaml'), `remotes:\n  team:\n    url: ${JSON.stringify(remote)}\ndefault_remote: team\n`);
      return c;
    };
    const a = fresh();
    const start = process.hrtime.bigint();
    const out = sh(a, node, [bin, 'run', '--pull', '--json']);
    pullMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    executedStages = out.stdout.split('\n').filter((l) => l.includes('"stage-finished"') && l.includes('"outcome":"ran"')).length;
    noopMs.push(timed(a, node, [bin, 'run']).ms);
    const b = fresh();
    fetchMs.push(timed(b, node, [bin, 'fetch']).ms);
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
  const p = median(pullMs);
  const n = median(noopMs);
  const f = median(fetchMs);
  lines.push(
    '## Fresh clone of the bundled project + `run --pull` (target: nothing executed; wall ≤ no-op + transfer)',
    '',
    '| fresh clone: `run --pull` | its no-op rerun | `fetch` of the same objects (fresh clone) | no-op + fetch | stages executed |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${(p / 1000).toFixed(2)} s | ${(n / 1000).toFixed(2)} s | ${(f / 1000).toFixed(2)} s | ${((n + f) / 1000).toFixed(2)} s (ratio ${(p / (n + f)).toFixed(2)}) | ${executedStages} |`,
  );
  rows.push({ bench: 'remote-fresh-clone', pull_run_ms: p, noop_ms: n, fetch_ms: f, executed: executedStages, rounds });
  rmSync(origin, { recursive: true, force: true });
  rmSync(remote, { recursive: true, force: true });
}

const table = lines.join('\n');
writeResults('remote', rows, table);
console.log(table);
