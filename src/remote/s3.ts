// A remote cache in S3 or an S3-compatible store (MinIO, Ceph, R2…) through
// the AWS SDK: s3://bucket/prefix, with `endpoint`, `region` and `path_style`
// options; credentials only from the SDK's standard sources (environment,
// shared files, profiles, instance roles), never from mlpipe's files or
// output. Large blobs go up as streamed multipart uploads (lib-storage), so
// memory stays bounded whatever the file size. Records are written with a
// conditional put (If-None-Match: *), after a check for stores without it.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { RemoteOptions } from '../config/config.js';
import { RemoteError, validKey, type Area, type RemoteStore } from './store.js';

/** Blobs above this go up in parts of this size (4 at a time per blob). */
const PART_SIZE = 8 * 1024 * 1024;

const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError', 'Forbidden']);

export class S3Store implements RemoteStore {
  readonly readOnly: boolean;
  readonly jobs: number;
  readonly where: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;

  constructor(
    readonly name: string,
    options: RemoteOptions,
  ) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(options.url);
    if (!m || m[1]!.includes('@')) throw new RemoteError(name, 's3 URLs are s3://bucket/prefix (credentials come from the SDK\'s standard sources)');
    this.bucket = m[1]!;
    this.prefix = m[2]!.replace(/\/+$/, '');
    this.where = `s3://${this.bucket}/${this.prefix}`;
    this.readOnly = options.read_only === true;
    this.jobs = options.jobs ?? 16;
    // mlpipe supports Node 20; the SDK's notice about its own future Node 22 requirement is not the user's concern on every command.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.path_style === true,
      maxAttempts: 4,
      // Checksums only where S3 requires them: many S3-compatible stores do not understand
      // the SDK's default aws-chunked uploads with checksum trailers (mlpipe verifies every blob itself).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: (options.timeout ?? 60) * 1000 } as never,
    });
  }

  private key(area: Area, key: string): string {
    return `${this.prefix ? `${this.prefix}/` : ''}${area}/${key}`;
  }

  /** The SDK's error as a RemoteError that names the remote and what to do, never a secret. */
  private fail(e: unknown, what: string): never {
    const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; code?: string; message?: string };
    const code = err.name ?? err.Code ?? err.code ?? 'Error';
    const status = err.$metadata?.httpStatusCode;
    if (DENIED.has(code) || status === 403) throw new RemoteError(this.name, `access denied (${code === 'Unknown' || code === 'Error' ? `HTTP ${status ?? 403}` : code}) on ${what}: check the credentials from the SDK's standard sources (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, AWS_PROFILE)`);
    if (code === 'NoSuchBucket') throw new RemoteError(this.name, `bucket "${this.bucket}" does not exist`);
    throw new RemoteError(this.name, `${what} failed: ${code}${status ? ` (HTTP ${status})` : ''}${err.message && err.message !== code ? `: ${err.message.split('\n')[0]!.slice(0, 200)}` : ''}`, status === undefined || status >= 500);
  }

  async has(area: Area, key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(area, key) }));
      return true;
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404) return false;
      this.fail(e, `HEAD ${area}/${key}`);
    }
  }

  async get(area: Area, key: string): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(area, key) }));
      return out.Body as Readable;
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404) return undefined;
      this.fail(e, `GET ${area}/${key}`);
    }
  }

  async put(area: Area, key: string, body: { file: string; size: number } | { bytes: Uint8Array }, ifAbsent: boolean): Promise<'written' | 'exists'> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    if (ifAbsent && (await this.has(area, key))) return 'exists';
    const Key = this.key(area, key);
    try {
      if ('file' in body && body.size > PART_SIZE) {
        await new Upload({ client: this.client, params: { Bucket: this.bucket, Key, Body: createReadStream(body.file) }, partSize: PART_SIZE, queueSize: 4 }).done();
      } else {
        const Body = 'file' in body ? createReadStream(body.file) : body.bytes;
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body, ContentLength: 'file' in body ? body.size : body.bytes.length, ...(ifAbsent ? { IfNoneMatch: '*' } : {}) }));
      }
      return 'written';
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (ifAbsent && (err.name === 'PreconditionFailed' || err.$metadata?.httpStatusCode === 412)) return 'exists';
      this.fail(e, `PUT ${area}/${key}`);
    }
  }

  async *list(area: Area): AsyncIterable<string> {
    const Prefix = this.key(area, '');
    let ContinuationToken: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ...(ContinuationToken ? { ContinuationToken } : {}) }));
      } catch (e) {
        this.fail(e, `LIST ${area}/`);
      }
      for (const o of out.Contents ?? []) {
        const k = o.Key?.slice(Prefix.length);
        if (k && validKey(area, k)) yield k;
      }
      ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(area: Area, key: string): Promise<void> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(area, key) }));
    } catch (e) {
      this.fail(e, `DELETE ${area}/${key}`);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
