// A remote cache over HTTP, in the layout of Bazel's HTTP remote-cache
// protocol: GET, HEAD and PUT of <base>/cas/<hash> and <base>/ac/<key>. Any
// web server that stores PUT bodies serves it (nginx with its WebDAV module:
// `dav_methods PUT DELETE; create_full_put_path on;`). Bodies are streamed
// both ways; failed requests are retried with backoff; a user name and
// password in the URL become Basic authentication and are never printed.
// Records are written check-then-put: the protocol has no conditional PUT.
import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { RemoteOptions } from '../config/config.js';
import { RemoteError, type Area, type RemoteStore } from './store.js';

const RETRIES = 3;
/** Connections are kept open between requests (thousands of small blobs). */
const HTTP_AGENT = new HttpAgent({ keepAlive: true, maxSockets: 64 });
const HTTPS_AGENT = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

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

  /** One request with Node's own HTTP client (streams both ways without web-stream conversions), retried on network errors and 5xx answers with exponential backoff. */
  private async request(method: string, url: string, body?: () => { body: Readable | Uint8Array; size: number }): Promise<IncomingMessage> {
    let last: unknown;
    for (let attempt = 0; attempt <= RETRIES; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 4 ** (attempt - 1)));
      const b = body?.();
      try {
        const res = await this.once(method, url, b);
        if ((res.statusCode ?? 0) >= 500 && attempt < RETRIES) {
          res.resume();
          last = new Error(`HTTP ${res.statusCode}`);
          continue;
        }
        return res;
      } catch (e) {
        if (b?.body instanceof Readable) b.body.destroy();
        last = e;
      }
    }
    const err = last as NodeJS.ErrnoException;
    throw new RemoteError(this.name, `cannot reach ${this.where} (${err?.code ?? err?.message ?? String(last)})`, true);
  }

  private once(method: string, url: string, b: { body: Readable | Uint8Array; size: number } | undefined): Promise<IncomingMessage> {
    const u = new URL(url);
    const client = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = client(
        u,
        {
          method,
          agent: u.protocol === 'https:' ? HTTPS_AGENT : HTTP_AGENT,
          headers: { ...(this.auth ? { authorization: this.auth } : {}), ...(b ? { 'content-length': String(b.size), 'content-type': 'application/octet-stream' } : {}) },
          // No answer (or no progress) for this long: give up. A large body gets time in proportion (at least 1 MB/s).
          timeout: this.timeoutMs + (b ? Math.ceil(b.size / 1000) : 0),
        },
        resolve,
      );
      req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.once('error', reject);
      if (!b) req.end();
      else if (b.body instanceof Readable) {
        b.body.once('error', (e) => req.destroy(e));
        b.body.pipe(req);
      } else req.end(b.body);
    });
  }

  private refuse(res: IncomingMessage, what: string): never {
    res.resume();
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) throw new RemoteError(this.name, `access denied (HTTP ${status}) on ${what}: check the credentials of this remote`);
    throw new RemoteError(this.name, `HTTP ${status} on ${what}`, status >= 500);
  }

  async has(area: Area, key: string): Promise<boolean> {
    const res = await this.request('HEAD', this.url(area, key));
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    this.refuse(res, `HEAD ${area}/${key}`);
  }

  async get(area: Area, key: string): Promise<Readable | undefined> {
    const res = await this.request('GET', this.url(area, key));
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    if (res.statusCode !== 200) this.refuse(res, `GET ${area}/${key}`);
    return res;
  }

  async put(area: Area, key: string, body: { file: string; size: number } | { bytes: Uint8Array }, ifAbsent: boolean): Promise<'written' | 'exists'> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    if (ifAbsent && (await this.has(area, key))) return 'exists';
    const make = () => ('file' in body ? { body: createReadStream(body.file, { highWaterMark: 1 << 20 }), size: body.size } : { body: body.bytes, size: body.bytes.length });
    const res = await this.request('PUT', this.url(area, key), make);
    res.resume();
    if (res.statusCode === 200 || res.statusCode === 201 || res.statusCode === 204) return 'written';
    this.refuse(res, `PUT ${area}/${key}`);
  }

  async delete(area: Area, key: string): Promise<void> {
    if (this.readOnly) throw new RemoteError(this.name, 'is read-only');
    const res = await this.request('DELETE', this.url(area, key));
    res.resume();
    if (res.statusCode !== 200 && res.statusCode !== 204 && res.statusCode !== 404) this.refuse(res, `DELETE ${area}/${key}`);
  }
}
