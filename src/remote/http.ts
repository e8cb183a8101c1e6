// A remote cache over HTTP, in the layout of Bazel's HTTP remote-cache
// protocol: GET, HEAD and PUT of <base>/cas/<hash> and <base>/ac/<key>. Any
// web server that stores PUT bodies serves it (nginx with its WebDAV module:
// `dav_methods PUT DELETE; create_full_put_path on;`). Bodies are streamed
// both ways; failed requests are retried with backoff; a user name and
// password in the URL become Basic authentication and are never printed.
// Records are written check-then-put: the protocol has no conditional PUT.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { RemoteOptions } from '../config/config.js';
import { RemoteError, type Area, type RemoteStore } from './store.js';

const RETRIES = 3;

export class HttpStore implements RemoteStore {
  readonly readOnly: boolean;
  readonly jobs: number;
  readonly where: string;
  private readonly base: string;
  private readonly auth: string | undefined;
  private readonly timeoutMs: number;

  constructor(
    readonly name: string,
    options: RemoteOptions,
  ) {
    const url = new URL(options.url);
    this.auth = url.username || url.password ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` : undefined;
    url.username = '';
    url.password = '';
    this.base = url.toString().replace(/\/+$/, '');
    this.where = this.base;
    this.readOnly = options.read_only === true;
    this.jobs = options.jobs ?? 16;
    this.timeoutMs = (options.timeout ?? 60) * 1000;
  }

  private url(area: Area, key: string): string {
    return `${this.base}/${area}/${key}`;
  }

  /** One request, retried on network errors and 5xx answers with exponential backoff. */
  private async request(method: string, url: string, body?: () => { body: RequestInit["body"] | Readable; size: number }): Promise<Response> {
    let last: unknown;
    for (let attempt = 0; attempt <= RETRIES; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 4 ** (attempt - 1)));
      const b = body?.();
      const init: RequestInit & { duplex?: 'half' } = {
        method,
        headers: { ...(this.auth ? { authorization: this.auth } : {}), ...(b ? { 'content-length': String(b.size), 'content-type': 'application/octet-stream' } : {}) },
        // A large body gets time in proportion (at least 1 MB/s), a small request the configured timeout.
        signal: AbortSignal.timeout(this.timeoutMs + (b ? Math.ceil(b.size / 1000) : 0)),
        redirect: 'error',
      };
      if (b) {
        init.body = b.body instanceof Readable ? (Readable.toWeb(b.body) as unknown as RequestInit["body"]) : b.body;
        init.duplex = 'half';
      }
      try {
        const res = await fetch(url, init);
        if (res.status >= 500 && attempt < RETRIES) {
          await res.body?.cancel();
          last = new Error(`HTTP ${res.status}`);
          continue;
        }
        return res;
      } catch (e) {
        last = e;
      }
    }
    const cause = (last as { cause?: { code?: string; message?: string } })?.cause;
    const why = cause?.code ?? cause?.message ?? (last as Error)?.message ?? String(last);
    throw new RemoteError(this.name, `cannot reach ${this.where} (${why})`, true);
  }

  private refuse(res: Response, what: string): never {
    if (res.status === 401 || res.status === 403) throw new RemoteError(this.name, `access denied (HTTP ${res.status}) on ${what}: check the credentials of this remote`);
    throw new RemoteError(this.name, `HTTP ${res.status} on ${what}`, res.status >= 500);
  }

  async has(area: Area, key: string): Promise<boolean> {
    const res = await this.request('HEAD', this.url(area, key));
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    this.refuse(res, `HEAD ${area}/${key}`);
  }

  async get(area: Area, key: string): Promise<Readable | undefined> {
    const res = await this.request('GET', this.url(area, key));
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      this.refuse(res, `GET ${area}/${key}`);
    }
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }

  async put(area: Area, key: string, body: { file: string; size: number } | { bytes: Uint8Array }, ifAbsent: boolean): Promise<'written' | 'exists'> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    if (ifAbsent && (await this.has(area, key))) return 'exists';
    const make = () => ('file' in body ? { body: createReadStream(body.file), size: body.size } : { body: body.bytes as unknown as RequestInit["body"], size: body.bytes.length });
    const res = await this.request('PUT', this.url(area, key), make);
    await res.body?.cancel();
    if (res.status === 200 || res.status === 201 || res.status === 204) return 'written';
    this.refuse(res, `PUT ${area}/${key}`);
  }

  async delete(area: Area, key: string): Promise<void> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    const res = await this.request('DELETE', this.url(area, key));
    await res.body?.cancel();
    if (res.status !== 200 && res.status !== 204 && res.status !== 404) this.refuse(res, `DELETE ${area}/${key}`);
  }
}
