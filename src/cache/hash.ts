// Content hashes of files and bytes: XXH3-128 (the same digest as
// `xxhsum -H2`), computed by hash-wasm's WebAssembly build, chosen by
// measurement (bench/hash.mjs, README): it streams at 2–3.5 GB/s here, faster
// than reading the file, against ~1.3 GB/s for SHA-256, ~1.2 GB/s for the
// native one-shot XXH3-128 of @node-rs/xxhash, and ~0.6 GB/s for MD5 (DVC's).
// A content-addressed cache needs no cryptographic hash; 128 bits keep
// accidental collisions out of reach.
import { closeSync, openSync, readSync } from 'node:fs';
import type { IHasher } from 'hash-wasm';

/** 32 lowercase hex digits of an XXH3-128 content hash. */
export type ContentHash = string & { readonly __brand: 'ContentHash' };

/** Read size: large enough that per-call overhead vanishes, small enough to stay in cache. */
export const CHUNK = 4 * 1024 * 1024;

let hasher: IHasher | undefined;

/** Instantiates the WebAssembly hasher once per process (a few milliseconds). */
export async function initHashing(): Promise<void> {
  if (hasher) return;
  const { createXXHash128 } = await import('hash-wasm');
  hasher = await createXXHash128();
}

function ready(): IHasher {
  if (!hasher) throw new Error('initHashing() must be awaited before hashing');
  return hasher;
}

export function hashBytes(data: Uint8Array): ContentHash {
  return ready().init().update(data).digest('hex') as ContentHash;
}

let buffer: Buffer | undefined;

/**
 * The read buffer, placed half a page off page alignment. Large allocations
 * start 16 bytes past a page boundary (glibc's mmap chunk header), and a
 * read() from the page cache into such a buffer runs at ~2 GB/s here against
 * ~12 GB/s half a page further on: the kernel's copy suffers 4K aliasing when
 * source and destination sit at nearly the same offset within a page
 * (bench/hash.mjs measures both).
 */
function readBuffer(): Buffer {
  buffer ??= Buffer.allocUnsafeSlow(CHUNK + 4096).subarray(2048, 2048 + CHUNK);
  return buffer;
}

/** Hashes a file's bytes in one pass with one reused buffer. */
export function hashFile(absPath: string): { hash: ContentHash; size: number } {
  const h = ready().init();
  const buffer = readBuffer();
  const fd = openSync(absPath, 'r');
  try {
    let size = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) break;
      size += n;
      h.update(n === CHUNK ? buffer : buffer.subarray(0, n));
    }
    return { hash: h.digest('hex') as ContentHash, size };
  } finally {
    closeSync(fd);
  }
}
