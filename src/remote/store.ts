// One interface for every remote cache, and the layout they share: immutable
// content-addressed blobs under cas/<hash> (directories stored as their
// manifests) and small action records under ac/<stage key> that name a
// stage's outputs. Backends: a directory (remote/dir.ts), S3 and S3-compatible
// stores (remote/s3.ts) and Bazel's HTTP remote-cache protocol (remote/http.ts).
// Errors a user can act on (unreachable, access denied, read-only) are a
// RemoteError naming the remote, never its credentials.
import type { Readable } from 'node:stream';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { remoteKind, type RemoteOptions } from '../config/config.js';

export type Area = 'cas' | 'ac';

export class RemoteError extends Error {
  constructor(
    readonly remote: string,
    message: string,
    /** The remote could not be reached or failed mid-transfer (a rerun resumes). */
    readonly transient = false,
  ) {
    super(`remote "${remote}": ${message}`);
  }
}

export interface RemoteStore {
  readonly name: string;
  readonly readOnly: boolean;
  /** Transfers at a time that suit this backend. */
  readonly jobs: number;
  /** Where it is, with any credentials removed (for messages). */
  readonly where: string;
  has(area: Area, key: string): Promise<boolean>;
  /** The object's bytes as a stream, or undefined when absent. */
  get(area: Area, key: string): Promise<Readable | undefined>;
  /**
   * Writes an object from a file (streamed) or bytes. With `ifAbsent`, an
   * existing object is left as it is ('exists'): records are never
   * overwritten (a conditional write where the store has one, check-then-put
   * elsewhere).
   */
  put(area: Area, key: string, body: { file: string; size: number } | { bytes: Uint8Array }, ifAbsent: boolean): Promise<'written' | 'exists'>;
  /** Copies an object straight to a local file, where the backend can (a directory): false when absent. */
  download?(area: Area, key: string, dest: string): Promise<boolean>;
  /** Every key of an area, where the backend can list (the HTTP protocol cannot: undefined). */
  list?(area: Area): AsyncIterable<string>;
  delete?(area: Area, key: string): Promise<void>;
  close?(): void;
}

/** The URL without user name or password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/, '$1***@');
}

/** Opens a configured remote; relative directory paths are relative to the project root. */
export async function openRemote(root: string, name: string, options: RemoteOptions): Promise<RemoteStore> {
  const kind = remoteKind(options.url);
  switch (kind) {
    case 'dir': {
      const { DirectoryStore } = await import('./dir.js');
      const path = /^file:\/\//i.test(options.url) ? fileURLToPath(options.url) : resolve(root, options.url);
      return new DirectoryStore(name, path, options);
    }
    case 'http': {
      const { HttpStore } = await import('./http.js');
      return new HttpStore(name, options);
    }
    case 's3': {
      const { S3Store } = await import('./s3.js');
      return new S3Store(name, options);
    }
    default:
      throw new RemoteError(name, `unsupported URL ${redactUrl(options.url)}`);
  }
}

/** Keys are hex digests: nothing else is ever asked for or accepted from a listing. */
export function validKey(area: Area, key: string): boolean {
  return area === 'cas' ? /^[0-9a-f]{32}$/.test(key) : /^[0-9a-f]{64}$/.test(key);
}

/** The remote a command names (or the default), opened, with the local cache it exchanges with. */
export async function openChosenRemote(root: string, config: import('../config/config.js').ProjectConfig, local: import('../cache/store.js').CacheStore, name?: string): Promise<{ store: RemoteStore; cache: import('./transfer.js').RemoteCache }> {
  const { chooseRemote } = await import('../config/config.js');
  const { RemoteCache } = await import('./transfer.js');
  const chosen = chooseRemote(config, name);
  const store = await openRemote(root, chosen.name, chosen.options);
  return { store, cache: new RemoteCache(store, local, join(root, '.mlpipe')) };
}
