// One contract, every backend: a directory, nginx with WebDAV (Bazel's HTTP
// remote-cache layout) and s3rver (S3), each started here on loopback. What
// every remote must do: round-trip blobs (streamed, a multipart-sized one
// too), say absent for what it lacks, never overwrite a record, refuse writes
// when read-only, and fail with a RemoteError naming the remote (never a
// secret) when unreachable or when the credentials are wrong.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRemote, RemoteError, type RemoteStore } from '../../src/remote/store.js';
import { startNginx, startS3, type NginxServer, type S3Server } from '../remote-servers.js';

async function bytesOf(s: Readable | undefined): Promise<Buffer | undefined> {
  if (!s) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const hex = (n: number) => randomBytes(n).toString('hex');

let nginx: NginxServer & { cleanup(): void };
let s3: S3Server & { cleanup(): void };
const tmp = mkdtempSync(join(tmpdir(), 'mlpipe-contract-'));
const saved = { ...process.env };

beforeAll(async () => {
  nginx = (await startNginx()) as NginxServer & { cleanup(): void };
  s3 = await startS3();
  Object.assign(process.env, s3.env);
}, 30_000);
afterAll(async () => {
  await nginx?.stop();
  nginx?.cleanup();
  await s3?.stop();
  s3?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
  for (const k of Object.keys(s3?.env ?? {})) if (saved[k] === undefined) delete process.env[k];
});

const backends: [string, () => Promise<RemoteStore>][] = [
  ['directory', () => openRemote(tmp, 'dir', { url: join(tmp, `remote-${hex(4)}`) })],
  ['http (nginx WebDAV)', () => openRemote(tmp, 'web', { url: `${nginx.url}/${hex(4)}` })],
  ['s3 (s3rver)', () => openRemote(tmp, 'bucket', { url: `s3://${s3.bucket}/${hex(4)}`, endpoint: s3.endpoint, path_style: true })],
  // Opt-in: a real S3 endpoint (credentials from the SDK's standard sources).
  ...(process.env.MLPIPE_TEST_S3_ENDPOINT
    ? [['s3 (MLPIPE_TEST_S3_ENDPOINT)', () => openRemote(tmp, 'real', { url: `s3://${process.env.MLPIPE_TEST_S3_BUCKET ?? 'mlpipe-test'}/${hex(4)}`, endpoint: process.env.MLPIPE_TEST_S3_ENDPOINT!, path_style: true })] as [string, () => Promise<RemoteStore>]]
    : []),
];

describe.each(backends)('remote contract: %s', (_label, open) => {
  it('round-trips blobs, small and multipart-sized, streamed from a file; absent is absent', async () => {
    const store = await open();
    const small = join(tmp, `small-${hex(4)}`);
    writeFileSync(small, 'hello remote\n');
    const key = hex(16);
    expect(await store.has('cas', key)).toBe(false);
    expect(await store.get('cas', key)).toBeUndefined();
    expect(await store.put('cas', key, { file: small, size: 13 }, false)).toBe('written');
    expect(await store.has('cas', key)).toBe(true);
    expect((await bytesOf(await store.get('cas', key)))!.toString()).toBe('hello remote\n');
    const big = join(tmp, `big-${hex(4)}`);
    const data = randomBytes(20 * 1024 * 1024); // over the S3 part size: a multipart upload
    writeFileSync(big, data);
    const bigKey = hex(16);
    await store.put('cas', bigKey, { file: big, size: data.length }, false);
    expect((await bytesOf(await store.get('cas', bigKey)))!.equals(data)).toBe(true);
    if (store.list) {
      const keys: string[] = [];
      for await (const k of store.list('cas')) keys.push(k);
      expect(keys.sort()).toEqual([key, bigKey].sort());
    }
    await store.delete?.('cas', key);
    expect(await store.has('cas', key)).toBe(false);
    store.close?.();
  }, 60_000);

  it('never overwrites a record: the first writer wins', async () => {
    const store = await open();
    const key = hex(32);
    expect(await store.put('ac', key, { bytes: Buffer.from('first') }, true)).toBe('written');
    expect(await store.put('ac', key, { bytes: Buffer.from('second') }, true)).toBe('exists');
    expect((await bytesOf(await store.get('ac', key)))!.toString()).toBe('first');
    store.close?.();
  });

  it('a read-only remote is read, never written', async () => {
    const writable = await open();
    const key = hex(16);
    await writable.put('cas', key, { bytes: Buffer.from('x') }, false);
    const ro = await openRemote(tmp, writable.name, { url: urlOf(writable), read_only: true, ...s3Options(writable) });
    expect(await ro.has('cas', key)).toBe(true);
    await expect(ro.put('cas', hex(16), { bytes: Buffer.from('y') }, false)).rejects.toThrow(/is read-only/);
    writable.close?.();
    ro.close?.();
  });
});

/** The URL a store was opened with (for reopening it read-only). */
function urlOf(store: RemoteStore): string {
  return store.where.startsWith('s3://') || store.where.startsWith('http') ? store.where : store.where;
}

function s3Options(store: RemoteStore): object {
  return store.where.startsWith('s3://') ? { endpoint: s3.endpoint, path_style: true } : {};
}

describe('remote failures', () => {
  it('an unreachable remote is a transient RemoteError naming it', async () => {
    await nginx.stop();
    try {
      const store = await openRemote(tmp, 'web', { url: `${nginx.url}/x`, timeout: 5 });
      const err = await store.has('cas', hex(16)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).message).toMatch(/^remote "web": cannot reach http:\/\/127\.0\.0\.1:\d+\/cache\/x \(ECONNREFUSED\)/);
      expect((err as RemoteError).transient).toBe(true);
    } finally {
      await nginx.start();
    }
  }, 30_000);

  it('wrong S3 credentials are "access denied" naming the remote, never the secret', async () => {
    const secret = `not-the-secret-${hex(8)}`;
    process.env.AWS_ACCESS_KEY_ID = 'WRONGKEY';
    process.env.AWS_SECRET_ACCESS_KEY = secret;
    try {
      const store = await openRemote(tmp, 'bucket', { url: `s3://${s3.bucket}/x`, endpoint: s3.endpoint, path_style: true });
      const err = await store.put('cas', hex(16), { bytes: Buffer.from('x') }, false).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as Error).message).toMatch(/^remote "bucket": access denied \(InvalidAccessKeyId\)/);
      expect((err as Error).message).not.toContain(secret);
      store.close?.();
    } finally {
      Object.assign(process.env, s3.env);
    }
  });
});
