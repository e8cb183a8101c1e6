// Content hashes of files and bytes: XXH3-128, chosen by measurement (see the
// README): the native @node-rs/xxhash build hashes at memory speed, so hashing
// a file costs about as much as reading it. Data is hashed in 4 MiB chunks
// (one-shot XXH3-128 per chunk, then over the chunk digests), which lets the
// WebAssembly fallback (hash-wasm) produce the same digests where the native
// module cannot load.
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/** 32 lowercase hex digits of an XXH3-128 content hash. */
export type ContentHash = string & { readonly __brand: 'ContentHash' };

export const CHUNK = 4 * 1024 * 1024;

type OneShot = (data: Uint8Array) => string;

let xxh128: OneShot | undefined;

/** Loads the hash implementation once: native first, then WebAssembly. */
export async function initHashing(): Promise<void> {
  if (xxh128) return;
  try {
    const require = createRequire(import.meta.url);
    const native = require('@node-rs/xxhash') as { xxh3: { xxh128: (data: Uint8Array) => bigint } };
    native.xxh3.xxh128(new Uint8Array(0));
    xxh128 = (data) => native.xxh3.xxh128(data).toString(16).padStart(32, '0');
  } catch {
    const { createXXHash128 } = await import('hash-wasm');
    const hasher = await createXXHash128();
    xxh128 = (data) => hasher.init().update(data).digest('hex');
  }
}

function oneShot(): OneShot {
  if (!xxh128) throw new Error('initHashing() must be awaited before hashing');
  return xxh128;
}

/** Combines chunk digests: "c:" marks a chunked hash so it never equals a one-shot one. */
function combine(digests: string[], size: number): ContentHash {
  return oneShot()(Buffer.from(`c:${size}:${digests.join('')}`)) as ContentHash;
}

export function hashBytes(data: Uint8Array): ContentHash {
  if (data.length <= CHUNK) return oneShot()(data) as ContentHash;
  const digests: string[] = [];
  for (let i = 0; i < data.length; i += CHUNK) digests.push(oneShot()(data.subarray(i, i + CHUNK)));
  return combine(digests, data.length);
}

let buffer: Buffer | undefined;

/** Hashes a file's bytes; reads it once, in chunks, with one reused buffer. */
export function hashFile(absPath: string): { hash: ContentHash; size: number } {
  const h = oneShot();
  buffer ??= Buffer.allocUnsafe(CHUNK);
  const fd = openSync(absPath, 'r');
  try {
    const digests: string[] = [];
    let size = 0;
    for (;;) {
      // Fill the whole chunk (a read may return less) so chunk boundaries are fixed.
      let filled = 0;
      while (filled < CHUNK) {
        const n = readSync(fd, buffer, filled, CHUNK - filled, null);
        if (n === 0) break;
        filled += n;
      }
      if (filled === 0) break;
      size += filled;
      digests.push(h(buffer.subarray(0, filled)));
      if (filled < CHUNK) break;
    }
    if (digests.length <= 1) return { hash: (digests[0] ?? h(new Uint8Array(0))) as ContentHash, size };
    return { hash: combine(digests, size), size };
  } finally {
    closeSync(fd);
  }
}
