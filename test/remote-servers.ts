// Real servers for the remote-cache tests, started by the tests themselves on
// loopback: nginx from Debian with its WebDAV module (PUT/DELETE into a temp
// directory; foreground, its own prefix, pid, temp and log paths) and s3rver
// (an S3 fake, in this process). Each returns its address and a stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const NGINX = process.env.MLPIPE_NGINX ?? '/usr/sbin/nginx';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface NginxServer {
  readonly url: string;
  /** Where PUT bodies land: <data>/<path>. */
  readonly data: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** nginx serving a WebDAV-writable directory on a free loopback port. */
export async function startNginx(): Promise<NginxServer> {
  const prefix = mkdtempSync(join(tmpdir(), 'mlpipe-nginx-'));
  const data = join(prefix, 'data');
  for (const d of ['data', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(prefix, d), { recursive: true });
  const port = await freePort();
  const root = process.getuid?.() === 0;
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `${root ? 'user root;\n' : ''}daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    root ${data};
    location / {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:rw all:r;
    }
  }
}
`,
  );
  let child: ChildProcess | undefined;
  const server: NginxServer = {
    url: `http://127.0.0.1:${port}/cache`,
    data: join(data, 'cache'),
    port,
    async start() {
      child = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs', 'error.log')], { stdio: 'ignore' });
      await waitForPort(port);
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      child = undefined;
    },
  };
  await server.start();
  const stopAll = server.stop.bind(server);
  return Object.assign(server, {
    async stop() {
      await stopAll();
    },
    cleanup() {
      rmSync(prefix, { recursive: true, force: true });
    },
  });
}

export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  /** The environment the CLI needs to reach it (s3rver's fixed credentials). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * s3rver with one bucket on a free loopback port, in a child process (the
 * tests call the CLI with spawnSync, which would block a server running in
 * the test's own event loop).
 */
export async function startS3(): Promise<S3Server & { cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'mlpipe-s3rver-'));
  const script = `
    const S3rver = require('s3rver');
    const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[1], configureBuckets: [{ name: 'cache' }] });
    s3.run().then(({ port }) => console.log('port ' + port));
    process.on('SIGTERM', () => s3.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['-e', script, dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code})`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: 'cache',
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
